#!/usr/bin/env bash
# playground.sh - the playground as curl sees it: a browser's Accept gets the page at / and /docs,
# every other client Cog's root document unchanged; assets and examples under a prefix too;
# --no-playground turns it all off; `predict --save-example` records examples.json.
# (The page itself, in a real browser: tests/browser/run.sh.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
need_binary

BROWSER='text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'
proj=$T/hello
cp -r "$ROOT/examples/hello-world" "$proj"
rm -f "$proj/examples.json"

# get NAME URL [CURL ARGS...]: body to $T/NAME.body, headers to $T/NAME.head; prints the status.
get() {
    local name=$1 url=$2
    shift 2
    curl -s -o "$T/$name.body" -D "$T/$name.head" -w '%{http_code}' --max-time 20 "$@" "$url"
}
header() { grep -i "^$2:" "$T/$1.head" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }

sock=$T/cog.sock
start_front "$proj" "$sock" || { fail "cog-fcgi starts"; finish; }
start_nginx "$T/nginx" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" 60 || { fail "hello-world becomes READY"; finish; }

# 1. Content negotiation on /
check "no Accept: 200" test "$(get plain "$BASE/")" = 200
check "Accept application/json: 200" test "$(get json "$BASE/" -H 'Accept: application/json')" = 200
check "Accept */*: 200" test "$(get any "$BASE/" -H 'Accept: */*')" = 200
check "the three are the same bytes" sh -c "cmp -s '$T/plain.body' '$T/json.body' && cmp -s '$T/plain.body' '$T/any.body'"
check "that is Cog's document, docs_url /docs" test "$(json_get /docs_url <"$T/plain.body")" = /docs
check "JSON and HTML tied: JSON" sh -c "test \"\$(curl -s '$BASE/' -H 'Accept: application/json, text/html' | head -c 1)\" = '{'"
check "a browser's Accept gets HTML" test "$(get page "$BASE/" -H "Accept: $BROWSER")" = 200
check "  as text/html" sh -c "grep -qi '^content-type: text/html' '$T/page.head'"
check "  the playground page" grep -q '<script type="module" src="playground/app.js">' "$T/page.body"
check "  with a content security policy" sh -c "grep -qi \"^content-security-policy: default-src 'self'\" '$T/page.head'"
check "  Vary: Accept on the JSON root" test "$(header plain Vary)" = Accept
check "  and on the page at /" test "$(header page Vary)" = Accept
check "/docs is the page (any Accept)" test "$(get docs "$BASE/docs")" = 200
check "  the same page" cmp -s "$T/docs.body" "$T/page.body"
check "POST /docs is 405" test "$(get pdocs "$BASE/docs" -X POST)" = 405

# 6. Assets are built in
for f in app.js app.css form.js schema.js run.js render.js snippets.js history.js; do
    code=$(get "asset-$f" "$BASE/playground/$f")
    check "asset $f: 200, $(header "asset-$f" Content-Type)" test "$code" = 200
done
check "app.js is JavaScript" sh -c "grep -qi '^content-type: text/javascript' '$T/asset-app.js.head'"
check "no CDN or remote URL in the page's files" sh -c "! grep -lE 'https?://[a-z]' '$T'/asset-*.body '$T/page.body'"
check "unknown asset: 404" test "$(get nope "$BASE/playground/nope.js")" = 404

# 5. Examples
check "no examples.json: an empty list" test "$(get ex0 "$BASE/playground/examples.json")-$(json_get /examples <"$T/ex0.body")" = "200-[]"
out=$("$COG_FCGI" predict "$proj" -i text=world --save-example world 2>"$T/save.log")
check "predict --save-example prints the output ($out)" test "$out" = "hello world"
check "  and says where it saved" grep -q 'example "world" saved in .*examples.json' "$T/save.log"
"$COG_FCGI" predict "$proj" -i text=you --save-example you >/dev/null 2>&1
"$COG_FCGI" predict "$proj" -i text=again --save-example world >/dev/null 2>&1
get ex1 "$BASE/playground/examples.json" >/dev/null
check "examples.json served without a restart" test "$(json_get /examples/1/name <"$T/ex1.body")" = you
check "a name saved again replaces its example in place" test "$(json_get /examples/0/input/text <"$T/ex1.body")/$(json_get /examples/0/output <"$T/ex1.body")" = "again/hello again"
check "two examples" test "$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["examples"]))' "$T/ex1.body")" = 2
cp "$proj/examples.json" "$T/good.json"
echo '{"examples": [' >"$proj/examples.json"
check "a broken examples.json is a 500" test "$(get ex2 "$BASE/playground/examples.json")" = 500
check "  that names the file and line" grep -q 'examples.json: line' "$T/ex2.body"
check "--save-example leaves a broken file alone" sh -c "! '$COG_FCGI' predict '$proj' -i text=x --save-example x >/dev/null 2>&1 && test \"\$(cat '$proj/examples.json')\" = '{\"examples\": ['"
cp "$T/good.json" "$proj/examples.json"
for ex in hello-world digits; do
    check "examples/$ex ships an examples.json" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["examples"] and all(isinstance(e["name"], str) and isinstance(e["input"], dict) for e in d["examples"])
' "$ROOT/examples/$ex/examples.json"
done
stop_nginx

# 1. Under a prefix: page, assets, examples and the API all under /models/hello/
start_nginx "$T/nginx2" "$(free_port)" "$sock" /models/hello || { fail "nginx (prefix) starts"; finish; }
check "prefix: a browser gets the page" test "$(get ppage "$BASE/" -H "Accept: $BROWSER")" = 200
check "  the page" cmp -s "$T/ppage.body" "$T/page.body"
check "prefix: no Accept gets Cog's document" cmp -s "$T/plain.body" <(curl -s "$BASE/")
check "prefix: /docs" test "$(get pdocs2 "$BASE/docs")" = 200
check "prefix: playground/app.js" test "$(get papp "$BASE/playground/app.js")" = 200
check "prefix: examples.json" test "$(get pex "$BASE/playground/examples.json")" = 200
check "the page's URLs are all relative" sh -c "! grep -E '(href|src)=\"/' '$T/page.body'"
stop_nginx
stop_front

# 6. --no-playground
start_front "$proj" "$sock" --no-playground || { fail "cog-fcgi --no-playground starts"; finish; }
start_nginx "$T/nginx3" "$(free_port)" "$sock" || { fail "nginx starts"; finish; }
wait_ready "$BASE" 60 || { fail "READY"; finish; }
get off "$BASE/" -H "Accept: $BROWSER" >/dev/null
check "--no-playground: a browser gets Cog's document" cmp -s "$T/off.body" "$T/plain.body"
check "--no-playground: /docs is 404" test "$(get offdocs "$BASE/docs")" = 404
check "--no-playground: assets are 404" test "$(get offapp "$BASE/playground/app.js")" = 404
check "--no-playground: examples are 404" test "$(get offex "$BASE/playground/examples.json")" = 404
finish
