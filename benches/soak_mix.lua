-- wrk script for benches/soak.sh: a weighted mix of pages, an optional
-- per-connection pacing delay (wrk 4 has no rate option), and a count of
-- non-2xx answers. Environment: SOAK_DELAY_MS (0 = unthrottled).
local paths = {}
local weights = {
  {"/clean-12k.html", 5},   -- clean HTML, nothing to find
  {"/dense-12k.json", 2},   -- every record carries values to mask
  {"/gz/clean-12k.html", 1}, -- gzip: decoded, scanned, re-encoded
  {"/gz/dense-12k.json", 1},
  {"/large-600k.html", 1},  -- large page, many frames
}
for _, w in ipairs(weights) do
  for _ = 1, w[2] do table.insert(paths, w[1]) end
end

local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0") or 0
local counter = 0
local non2xx = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counter = math.random(#paths)
end

function request()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter], {["Accept-Encoding"] = "gzip"})
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

if delay_ms > 0 then
  function delay()
    return delay_ms
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'SOAKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"non2xx":%d,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
    '"err_timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99), latency.max, bad,
    e.connect, e.read, e.write, e.timeout))
end
