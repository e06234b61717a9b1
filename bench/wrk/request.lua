-- Replays a request (or cycles through a list of them) for wrk and reports what
-- bench/load.py reads, as one JSON line.
--
-- The request comes from the file named by $BENCH_REQUEST (written by bench/load.py):
-- the method on the first line, then "Name: value" header lines, an empty line, and
-- the body. wrk builds the request bytes once per thread from wrk.method/headers/body,
-- so replaying one request costs no Lua per request; only response() runs per answer,
-- because wrk's own error count sees statuses >= 400 only and a valid run must be all 2xx.
--
-- A workload whose requests vary (other ids, query bounds, bodies) also names a
-- variants file in $BENCH_VARIANTS: one request per line, the path with its query
-- string, a tab, and the body (empty for none), then a tab and "Name: value" for each
-- header of that variant alone (a session token). All of them are formatted into
-- request bytes once, when the script loads; request() then only steps an index,
-- each thread starting at another place in the list.
-- wrk's scripting API: https://github.com/wg/wrk/blob/master/SCRIPTING

local function read_request(path)
  local file = assert(io.open(path, "rb"), "cannot open request file " .. tostring(path))
  local text = file:read("*a")
  file:close()
  local head, body = text:match("^(.-)\n\n(.*)$")
  local lines = {}
  for line in head:gmatch("[^\n]+") do
    table.insert(lines, line)
  end
  local headers = {}
  for i = 2, #lines do
    local name, value = lines[i]:match("^([^:]+):%s*(.*)$")
    headers[name] = value
  end
  return lines[1], headers, body
end

local method, headers, body = read_request(os.getenv("BENCH_REQUEST"))
wrk.method = method
for name, value in pairs(headers) do
  wrk.headers[name] = value
end
if body ~= "" then
  wrk.body = body
end

local variants_file = os.getenv("BENCH_VARIANTS")
if variants_file and variants_file ~= "" then
  -- wrk.init() sets the Host header per thread, but wrk also calls request() once in
  -- its main Lua state, where init() never runs, to check the request: set it here.
  if not wrk.headers["Host"] then
    local host = wrk.host
    if host:find(":") then
      host = "[" .. host .. "]"
    end
    if wrk.port then
      host = host .. ":" .. wrk.port
    end
    wrk.headers["Host"] = host
  end
  local requests = {}
  for line in io.lines(variants_file) do
    local path, variant_body, extra = line:match("^([^\t]*)\t([^\t]*)(.*)$")
    assert(path, "malformed line in " .. variants_file)
    wrk.headers["Content-Length"] = nil
    if variant_body == "" then
      variant_body = nil
    end
    -- Headers of this variant alone ("\tName: value" each), over the common ones.
    local variant_headers = wrk.headers
    if extra ~= "" then
      variant_headers = {}
      for name, value in pairs(wrk.headers) do
        variant_headers[name] = value
      end
      for field in extra:gmatch("\t([^\t]+)") do
        local name, value = field:match("^([^:]+):%s*(.*)$")
        assert(name, "malformed header in " .. variants_file)
        variant_headers[name] = value
      end
    end
    requests[#requests + 1] = wrk.format(method, path, variant_headers, variant_body)
  end
  assert(#requests > 0, "no requests in " .. variants_file)
  local count = #requests
  local index = 0

  function init(args)
    -- Threads start a golden-ratio step apart in the list, so that they do not walk
    -- the same objects in step (two updates of one row would wait for each other).
    index = math.floor(count * ((thread_number * 0.6180339887) % 1))
  end

  function request()
    index = index + 1
    if index > count then
      index = 1
    end
    return requests[index]
  end
end

-- Per-thread counters live in each thread's Lua state; done() collects them.
non2xx = 0
first_bad = ""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads - 1)
end

function response(status, response_headers, response_body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_bad == "" then
      first_bad = status .. " " .. string.sub(response_body or "", 1, 300)
    end
  end
end

local function json_string(s)
  local escaped = s:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end)
  return '"' .. escaped .. '"'
end

function done(summary, latency, requests)
  local bad, sample = 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
    if sample == "" then
      sample = thread:get("first_bad")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},' ..
    '"non_2xx":%d,"first_bad":%s}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    bad, json_string(sample)))
end
