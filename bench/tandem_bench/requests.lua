-- wrk script: requests read from a file, one per line, "METHOD<TAB>PATH<TAB>TOKEN<TAB>BODY"
-- (BODY empty for none), picked at random. A POST carries an Idempotency-Key unique to the
-- run, the thread and the request. done() prints the figures as one JSON line.
--
-- wrk -s requests.lua URL -- FILE RUN_ID               as fast as the connections go
-- wrk -s requests.lua URL -- FILE RUN_ID INTERVAL_US   a fixed rate, with as many threads as
--                                                      connections (-t N -c N)
--
-- At a fixed rate each connection sends one request every INTERVAL_US microseconds on a
-- schedule of its own (an open loop, as wrk2 does). A request that was due while its
-- connection still waited for an earlier answer has its latency counted from when it was due,
-- not from when it went: a slow answer delays the requests behind it, and their wait counts
-- too, so a stall shows in the percentiles instead of only in a lower rate (no coordinated
-- omission). A request sent on time counts from when it went, so the millisecond steps of
-- wrk's timer add nothing. The percentiles are then this script's own.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } tandem_timespec;
  int clock_gettime(int clock, tandem_timespec *now);
]]
local CLOCK_MONOTONIC = 1
local clock = ffi.new("tandem_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  threads[#threads + 1] = thread
end

local requests = {}
local counter = 0
local run = "run"
interval = nil -- microseconds between one connection's requests, at a fixed rate
local next_at = nil -- when the next request is due
local late = false -- whether the next request was already due when its connection was free
local due = nil -- when the request in flight counts from
latencies = {} -- read by done(): microseconds from due to answered, at a fixed rate
non_2xx = 0

function init(args)
  run = args[2] or run
  for line in io.lines(args[1]) do
    local method, path, token, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    if method then
      local headers = {}
      if token ~= "" then
        headers["Authorization"] = "Bearer " .. token
      end
      if body == "" then
        body = nil
      else
        headers["Content-Type"] = "application/json"
      end
      requests[#requests + 1] = { method = method, path = path, headers = headers, body = body }
    end
  end
  math.randomseed(os.time() * 100 + id)
  if args[3] then
    interval = tonumber(args[3])
    -- Only with delay() defined does wrk ask it before each request.
    delay = function()
      local now = now_us()
      if not next_at then
        -- The connections start spread over one interval rather than all at once.
        next_at = now + math.random() * interval
      end
      late = now >= next_at
      return math.max(0, math.ceil((next_at - now) / 1000))
    end
    response = function(status)
      if due then
        latencies[#latencies + 1] = now_us() - due
        due = nil
      end
      if status < 200 or status > 299 then
        non_2xx = non_2xx + 1
      end
    end
  end
end

function request()
  if interval and next_at then -- (wrk also calls request() once to check it, before any delay())
    -- One connection per thread, so answers come back in the order requests went.
    due = late and next_at or now_us()
    next_at = next_at + interval
  end
  local r = requests[math.random(#requests)]
  if r.method ~= "POST" then
    return wrk.format(r.method, r.path, r.headers, r.body)
  end
  counter = counter + 1
  local headers = { ["Idempotency-Key"] = run .. "-" .. id .. "-" .. counter }
  for key, value in pairs(r.headers) do
    headers[key] = value
  end
  return wrk.format(r.method, r.path, headers, r.body)
end

local function percentile(sorted, p)
  if #sorted == 0 then
    return 0
  end
  return sorted[math.max(1, math.ceil(#sorted * p / 100))]
end

function done(summary, latency, requests)
  local e = summary.errors
  local figures = {
    requests = summary.requests, errors = e.connect + e.read + e.write + e.timeout + e.status,
    status_errors = e.status, p50 = latency:percentile(50), p99 = latency:percentile(99),
    p999 = latency:percentile(99.9),
  }
  if threads[1]:get("interval") then
    local all, non_2xx_total = {}, 0
    for _, thread in ipairs(threads) do
      for _, value in ipairs(thread:get("latencies") or {}) do
        all[#all + 1] = value
      end
      non_2xx_total = non_2xx_total + thread:get("non_2xx")
    end
    table.sort(all)
    figures.requests, figures.status_errors = #all, non_2xx_total
    figures.errors = e.connect + e.read + e.write + e.timeout + non_2xx_total
    figures.p50, figures.p99, figures.p999 =
      percentile(all, 50), percentile(all, 99), percentile(all, 99.9)
  end
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"status_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"p999_us":%d}\n',
    figures.requests, summary.duration, figures.errors, figures.status_errors, figures.p50,
    figures.p99, figures.p999))
end
