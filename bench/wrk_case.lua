-- One benchmark case for wrk, configured by the runner (bench/http_api.py) through the environment:
-- BENCH_METHOD, BENCH_PATH, BENCH_BODY (optional JSON); optional BENCH_PATHS (one per line, picked at
-- random per request), BENCH_HEADERS ("Name: value" per line) and BENCH_EXPECT_STATUS (the one status
-- that counts as success, e.g. 304). Prints one BENCH_RESULT line of JSON at the end.

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local body = os.getenv("BENCH_BODY")
if body == "" then body = nil end

local headers = {["Accept"] = "application/json", ["Accept-Language"] = "de"}
if body then headers["Content-Type"] = "application/json" end
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  if name then headers[name] = value end
end
local paths = {}
for line in (os.getenv("BENCH_PATHS") or ""):gmatch("[^\n]+") do table.insert(paths, line) end
local expect_status = tonumber(os.getenv("BENCH_EXPECT_STATUS") or "")

-- Each thread runs in its own Lua state; done() reads their counters through these handles.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

function init(args)
  non_2xx = 0
  math.randomseed(os.time() * 1000 + (thread_id or 0))
end

-- A different client address per request, as the proxy reports it (the server runs with
-- DJANGO_NUM_PROXIES=1): in production each phone sends a few requests, so per-IP throttle histories
-- stay short; one address for the whole run would grow one history without bound.
function request()
  headers["X-Forwarded-For"] = string.format(
    "10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254)
  )
  local target = path
  if #paths > 0 then target = paths[math.random(1, #paths)] end
  return wrk.format(method, target, headers, body)
end

-- wrk's own status error counts only codes >= 400; a redirect is a failed case too.
function response(status, resp_headers, resp_body)
  if expect_status then
    if status ~= expect_status then non_2xx = non_2xx + 1 end
  elseif status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

function done(summary, latency, requests)
  local non_2xx_total = 0
  for _, thread in ipairs(threads) do
    non_2xx_total = non_2xx_total + (thread:get("non_2xx") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, '
      .. '"timeout": %d, "non_2xx": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, non_2xx_total,
    latency:percentile(50), latency:percentile(99)
  ))
end
