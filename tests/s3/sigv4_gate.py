#!/usr/bin/env python3
"""sigv4_gate.py - checks AWS Signature V4 in front of s3rver, which does not.

s3rver 3.7 (tests/s3/package.json) speaks S3's REST API, multipart uploads included, but
its authentication only looks up the access key id: "Signature version 4 calculation is
unimplemented" (lib/middleware/authentication.js), so any secret passes. This proxy computes
each request's signature as AWS documents it (header auth: Authorization: AWS4-HMAC-SHA256;
presigned URLs: X-Amz-Signature in the query, X-Amz-Expires honoured) from its own key pair,
answers 403 SignatureDoesNotMatch / AccessDenied in S3's XML when they do not match, and
streams the rest to s3rver unchanged. The first request for each path under /bkt/flaky/ (or
BUCKET.../flaky/) is answered 503 SlowDown, as S3 does under load, to show the retries.

usage: sigv4_gate.py LISTEN_PORT S3RVER_PORT ACCESS_KEY SECRET_KEY [LOG]
"""
import datetime
import hashlib
import hmac
import http.client
import http.server
import sys
import urllib.parse

PORT, UPSTREAM, ACCESS, SECRET = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
LOG = open(sys.argv[5], "a", buffering=1) if len(sys.argv) > 5 else None
FLAKY_SEEN = set()


def enc(s):
    return urllib.parse.quote(s, safe="-_.~")


def canonical_query(raw, drop=()):
    pairs = []
    for item in raw.split("&") if raw else []:
        name, _, value = item.partition("=")
        name, value = urllib.parse.unquote(name), urllib.parse.unquote(value)
        if name not in drop:
            pairs.append((enc(name), enc(value)))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def signature(date, region, service, string_to_sign):
    key = ("AWS4" + SECRET).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


class Gate(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if LOG:
            LOG.write("%s\n" % (fmt % args))

    def refuse(self, code, message, status=403):
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error>").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if LOG:
            LOG.write(f"REFUSED {self.command} {self.path}: {code}\n")

    def verify(self):
        path, _, query = self.path.partition("?")
        auth = self.headers.get("Authorization", "")
        q = urllib.parse.parse_qs(query, keep_blank_values=True)
        if auth.startswith("AWS4-HMAC-SHA256 "):
            fields = dict(p.strip().split("=", 1) for p in auth[17:].split(","))
            cred = fields["Credential"].split("/")
            signed = fields["SignedHeaders"]
            given = fields["Signature"]
            stamp = self.headers.get("x-amz-date", "")
            payload = self.headers.get("x-amz-content-sha256", "")
            cquery = canonical_query(query)
        elif "X-Amz-Signature" in q:
            cred = q["X-Amz-Credential"][0].split("/")
            signed = q["X-Amz-SignedHeaders"][0]
            given = q["X-Amz-Signature"][0]
            stamp = q["X-Amz-Date"][0]
            payload = "UNSIGNED-PAYLOAD"
            cquery = canonical_query(query, drop=("X-Amz-Signature",))
            t = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
            if datetime.datetime.now(datetime.timezone.utc) > t + datetime.timedelta(
                    seconds=int(q["X-Amz-Expires"][0])):
                return "AccessDenied", "Request has expired"
        else:
            return "AccessDenied", "Access Denied (no AWS Signature V4)"
        if cred[0] != ACCESS:
            return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
        headers = "".join(
            f"{h}:{' '.join((self.headers.get(h) or '').split())}\n" for h in signed.split(";"))
        canonical = "\n".join([self.command, path, cquery, headers, signed, payload])
        scope = "/".join(cred[1:])
        to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        if not hmac.compare_digest(signature(cred[1], cred[2], cred[3], to_sign), given):
            return "SignatureDoesNotMatch", ("The request signature we calculated does not match "
                                             "the signature you provided.")
        return None

    def forward(self):
        try:
            why = self.verify()
        except (KeyError, ValueError, IndexError) as e:
            why = ("AccessDenied", f"malformed signature: {e}")
        length = int(self.headers.get("Content-Length") or 0)
        key = (self.command, self.path.partition("?")[0])
        if not why and "/flaky/" in key[1] and key not in FLAKY_SEEN:
            FLAKY_SEEN.add(key)
            why = ("SlowDown", "Please reduce your request rate.", 503)
        if why:
            while length > 0:  # drain, so the client reads our answer
                length -= len(self.rfile.read(min(length, 1 << 20)))
            return self.refuse(*why)
        up = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=600)
        up.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in ("connection", "expect"):
                up.putheader(name, value)
        up.endheaders()
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            up.send(chunk)
            length -= len(chunk)
        r = up.getresponse()
        self.send_response(r.status)
        for name, value in r.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "keep-alive"):
                self.send_header(name, value)
        body_len = r.getheader("Content-Length")
        if body_len is None:
            data = r.read()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self.end_headers()
            while True:
                chunk = r.read(1 << 20)
                if not chunk:
                    break
                self.wfile.write(chunk)
        up.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward


http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Gate).serve_forever()
