-- wrk script of bench/ingest.py (read that file first). Arguments after `--`, as key=value:
--   mode=heartbeat|batch|bodies   what each request carries
--   path=/api/v1/ingest           request path
--   run=<prefix>                  prefix of every instance and message id of this run
--   key=<ingest key>              X-Telemetry-Key header (heartbeat), auth=<Authorization value> (batch)
--   send_s=<seconds>              stop sending after this; wrk's -d is longer, so every request sent
--                                 is answered before wrk stops (no request is left in flight)
--   rate=<requests/s>             per thread; 0 = as fast as the connections allow (saturation)
--   events=<n>                    events per Segment batch (mode=batch)
--   fleet=<prefix>                instances named by batch events: <prefix>-0 .. <prefix>-99
--   known=1                       heartbeats come from that fleet instead of a new instance each
--   file=<path> threads=<n>       pre-built request bodies (mode=bodies: gzip), each sent once;
--   offset=<n>                    bodies already used by earlier rounds
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local CLOCK_MONOTONIC = 1
local NEVER_MS = 3600 * 1000

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

-- Main state: number the threads so ids never collide between them.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- Thread state.
local opts = {}
local seq, stop_ms, next_slot_ms, interval_ms = 0, 0, 0, 0
local bodies, next_body, body_step = nil, 1, 1
-- Globals, because the main state reads them with thread:get at the end.
bench_sent, bench_ok, bench_bad, bench_first_ms, bench_last_ms = 0, 0, 0, 0, 0
exhausted = 0
error_sample = ""

local function iso_now()
  return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

local function load_bodies(file, tid, nthreads, offset)
  -- File format (bench/ingest.py writes it): "<length>\n<bytes>" repeated.
  local f = assert(io.open(file, "rb"))
  local data = f:read("*a")
  f:close()
  local list, pos = {}, 1
  while pos <= #data do
    local nl = string.find(data, "\n", pos, true)
    local len = tonumber(string.sub(data, pos, nl - 1))
    table.insert(list, string.sub(data, nl + 1, nl + len))
    pos = nl + 1 + len
  end
  next_body, body_step = offset + tid, nthreads
  return list
end

function init(args)
  for _, arg in ipairs(args) do
    local k, v = string.match(arg, "^([%w_]+)=(.*)$")
    if k then opts[k] = v end
  end
  opts.tid = tonumber(wrk.thread:get("tid")) or 1
  opts.events = tonumber(opts.events or "100")
  local start = now_ms()
  stop_ms = start + tonumber(opts.send_s) * 1000
  next_slot_ms = start
  local rate = tonumber(opts.rate or "0")
  if rate > 0 then interval_ms = 1000 / rate end
  if opts.mode == "bodies" then
    bodies = load_bodies(opts.file, opts.tid, tonumber(opts.threads or "1"), tonumber(opts.offset or "0"))
  end
  wrk.method = "POST"
  wrk.path = opts.path
  wrk.headers["Content-Type"] = "application/json"
  if opts.key then wrk.headers["X-Telemetry-Key"] = opts.key end
  if opts.auth then wrk.headers["Authorization"] = opts.auth end
  if opts.mode == "bodies" then wrk.headers["Content-Encoding"] = "gzip" end
end

-- Called before every request: pacing (rate=) and the end of the sending window.
function delay()
  local now = now_ms()
  if bodies and next_body > #bodies then
    exhausted = 1
    return NEVER_MS
  end
  local wait = 0
  if interval_ms > 0 then
    -- A fixed schedule (wrk2's idea): slot k is start + k * interval. Falling far behind resets it
    -- rather than bursting to catch up.
    if next_slot_ms < now - 100 then next_slot_ms = now end
    wait = next_slot_ms - now
    next_slot_ms = next_slot_ms + interval_ms
    if wait < 0 then wait = 0 end
  end
  if now + wait >= stop_ms then return NEVER_MS end
  -- Counted here, not in request(): wrk also calls request() once before the run to inspect it.
  bench_sent = bench_sent + 1
  if bench_first_ms == 0 then bench_first_ms = now + wait end
  return wait
end

local function heartbeat_body(id)
  -- known=1: a keep-alive from one of the instances created beforehand; otherwise a new instance.
  local instance = id
  if opts.known == "1" then instance = string.format("%s-%d", opts.fleet, seq % 100) end
  return string.format(
    '{"type":"heartbeat","instance_id":"%s","message_id":"hb-%s","event":"bench.ping",' ..
    '"timestamp":"%s","version":"1.%d.0","edition":"ce","os":"linux","arch":"x86_64",' ..
    '"metrics":{"users":%d,"apps":%d}}',
    instance, id, iso_now(), seq % 10, seq % 97, seq % 13)
end

local EVENT_NAMES = { "API_CALL", "PAGE_VIEW", "QUERY_EXECUTED", "WIDGET_DRAGGED", "DATASOURCE_CREATED" }

-- Mirrored by segment_batch() in bench/ingest.py (the gzip bodies): keep the two in step.
local function batch_body(id)
  local ts = iso_now()
  local instance = string.format("%s-%d", opts.fleet, seq % 100)
  local parts = {}
  for i = 1, opts.events do
    parts[i] = string.format(
      '{"type":"track","event":"%s","messageId":"%s-%d","anonymousId":"anon-%d","timestamp":"%s",' ..
      '"properties":{"instanceId":"%s","source":"backend","durationMs":%d,"route":"/api/v1/actions/%d"}}',
      EVENT_NAMES[(i % #EVENT_NAMES) + 1], id, i, seq % 1000, ts, instance, (seq * 7 + i) % 500, i % 20)
  end
  return '{"batch":[' .. table.concat(parts, ",") .. '],"sentAt":"' .. ts ..
    '","context":{"library":{"name":"bench","version":"1.0"}}}'
end

function request()
  seq = seq + 1
  local id = string.format("%s-%d-%d", opts.run, opts.tid, seq)
  local body
  if opts.mode == "heartbeat" then
    body = heartbeat_body(id)
  elseif opts.mode == "batch" then
    body = batch_body(id)
  else
    body = bodies[next_body]
    next_body = next_body + body_step
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  bench_last_ms = now_ms()
  if status >= 200 and status < 300 then
    bench_ok = bench_ok + 1
  else
    bench_bad = bench_bad + 1
    if error_sample == "" then
      error_sample = tostring(status) .. " " .. string.sub(body or "", 1, 300):gsub("[\r\n]", " ")
    end
  end
end

function done(summary, latency, requests)
  local t = { sent = 0, ok = 0, bad = 0, exhausted = 0, first_ms = math.huge, last_ms = 0 }
  local sample = ""
  for _, thread in ipairs(threads) do
    t.sent = t.sent + thread:get("bench_sent")
    t.ok = t.ok + thread:get("bench_ok")
    t.bad = t.bad + thread:get("bench_bad")
    t.exhausted = t.exhausted + thread:get("exhausted")
    local first = thread:get("bench_first_ms")
    if first > 0 and first < t.first_ms then t.first_ms = first end
    local last = thread:get("bench_last_ms")
    if last > t.last_ms then t.last_ms = last end
    if sample == "" then sample = thread:get("error_sample") end
  end
  if t.first_ms == math.huge then t.first_ms = 0 end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,' ..
    '"sent":%d,"ok":%d,"bad":%d,"exhausted":%d,"active_ms":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
    t.sent, t.ok, t.bad, t.exhausted, t.last_ms - t.first_ms))
  if sample ~= "" then io.write("BENCH_ERROR " .. sample .. "\n") end
end
