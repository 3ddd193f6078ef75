#!/usr/bin/python3
"""A storage stand-in for upload tests: records PUTs in DIR, answers 201 with a Location.

usage: upload_receiver.py PORT DIR [FAIL_FIRST_N]
Each PUT /path writes DIR/<n>.json ({"path","headers","size","content_type"}) and the body to
DIR/<n>.body. The first FAIL_FIRST_N PUTs get 503 (to exercise retries); a path under /broken/
always gets 500.
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, out = int(sys.argv[1]), sys.argv[2]
fail_first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
lock = threading.Lock()
count = [0]


class Handler(BaseHTTPRequestHandler):
    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            count[0] += 1
            n = count[0]
        with open(os.path.join(out, f"{n}.json"), "w") as f:
            json.dump({"path": self.path, "headers": dict(self.headers), "size": len(body),
                       "content_type": self.headers.get("Content-Type", "")}, f)
        with open(os.path.join(out, f"{n}.body"), "wb") as f:
            f.write(body)
        if n <= fail_first or self.path.startswith("/broken/"):
            self.send_response(503 if n <= fail_first else 500)
            self.end_headers()
            return
        self.send_response(201)
        self.send_header("Location", f"http://127.0.0.1:{port}/stored{self.path}?sig=abc")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
