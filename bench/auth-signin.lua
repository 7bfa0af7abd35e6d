-- wrk script for bench/auth.sh: password sign-in (grant_type=password) for one confirmed user.
--   ANON_KEY, BENCH_EMAIL, BENCH_PASSWORD
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  anon = os.getenv("ANON_KEY")
  body = '{"email":"' .. os.getenv("BENCH_EMAIL") .. '","password":"' .. os.getenv("BENCH_PASSWORD") .. '"}'
  failures = 0
end

function request()
  return wrk.format("POST", "/auth/v1/token?grant_type=password",
    {["Content-Type"] = "application/json", ["apikey"] = anon}, body)
end

function response(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do failed = failed + (t:get("failures") or 0) end
  io.write(string.format("sign-in: %d requests, %.1f req/s, %d failed, p50 %.1f ms, p99 %.1f ms\n",
    summary.requests, summary.requests / (summary.duration / 1e6), failed,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
