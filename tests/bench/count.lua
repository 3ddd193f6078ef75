-- count.lua - wrk script: counts the answers that are not 2xx, and POSTs when asked to.
--
-- CF_BENCH_BODY set: POST it as application/json (a prediction); unset: plain GET.
-- CF_BENCH_BODY_FILE: the same with the body read from a file (a 1 MB body does not fit in an
-- environment variable).
-- Each wrk thread counts in its own Lua state; done() sums them and prints "non-2xx: N".
local body = os.getenv("CF_BENCH_BODY")
local body_file = os.getenv("CF_BENCH_BODY_FILE")
if body_file and body_file ~= "" then
    local f = assert(io.open(body_file, "rb"))
    body = f:read("*a")
    f:close()
end
if body and body ~= "" then
    wrk.method = "POST"
    wrk.body = body
    wrk.headers["Content-Type"] = "application/json"
end

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    non2xx = 0
end

function response(status, headers, body)
    if status < 200 or status > 299 then
        non2xx = non2xx + 1
    end
end

function done(summary, latency, requests)
    local n = 0
    for _, t in ipairs(threads) do
        n = n + t:get("non2xx")
    end
    local e = summary.errors
    io.write(string.format("non-2xx: %d\n", n))
    io.write(string.format("socket errors: %d\n", e.connect + e.read + e.write + e.timeout))
end
