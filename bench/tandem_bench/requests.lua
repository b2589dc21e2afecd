-- wrk script: requests read from a file, one per line, "METHOD<TAB>PATH<TAB>TOKEN<TAB>BODY"
-- (BODY empty for none), picked at random. A POST carries an Idempotency-Key unique to the
-- run, the thread and the request. done() prints the figures as one JSON line.
--
-- wrk -s requests.lua URL -- FILE RUN_ID

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  threads[#threads + 1] = thread
end

local requests = {}
local counter = 0
local run = "run"

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
end

function request()
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

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"status_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"p999_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout + e.status,
    e.status, latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
