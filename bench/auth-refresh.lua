-- wrk script for bench/auth.sh: token refresh with rotation. Each wrk thread owns one
-- connection and one session, and refreshes its own chain: every answer's refresh_token is the
-- next request's (a refresh token is single-use).
--   TOKENS_FILE   one refresh token per line (one per thread)
--   TOKEN_OFFSET  line offset for this run
--   ANON_KEY      the anon key
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  local offset = tonumber(os.getenv("TOKEN_OFFSET") or "0")
  local f = assert(io.open(os.getenv("TOKENS_FILE"), "r"))
  local i = 0
  for line in f:lines() do
    i = i + 1
    if i == id + offset then token = line end
  end
  f:close()
  anon = os.getenv("ANON_KEY")
  failures = 0
end

function request()
  return wrk.format("POST", "/auth/v1/token?grant_type=refresh_token",
    {["Content-Type"] = "application/json", ["apikey"] = anon},
    '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 200 then
    local t = body:match('"refresh_token":"([a-z0-9]+)"')
    if t then token = t end
  else
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + (t:get("failures") or 0) end
  io.write(string.format("refresh: %d requests, %.0f req/s, %d failed, p50 %.2f ms, p99 %.2f ms\n",
    summary.requests, summary.requests / (summary.duration / 1e6), failed,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
