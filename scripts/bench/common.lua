-- Shared by the scenario scripts of scripts/bench.sh; each loads it first.
--
-- wrk runs one Lua state per thread plus one for setup() and done(). setup() numbers the
-- threads and keeps them, so done() can add up what each thread counted (thread:get).
-- Every request claims a random client address in X-Forwarded-For (the API trusts the
-- loopback peer as a proxy), so the rate limits run for real, as with many real clients,
-- without any one simulated client reaching its limit.

bench = {}

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_id", #threads)
end

-- Statuses counted by bench.count() in response(), per thread.
local counted = { "s201", "s202", "s409", "s429", "s5xx", "sother" }

-- A seed from the kernel, so that threads and runs never repeat each other's numbers.
local function kernel_seed()
  local f = assert(io.open("/dev/urandom", "rb"))
  local bytes = f:read(4)
  f:close()
  local n = 0
  for i = 1, #bytes do
    n = n * 256 + bytes:byte(i)
  end
  return n
end

function init(args)
  math.randomseed(kernel_seed())
  for _, name in ipairs(counted) do
    _G[name] = 0
  end
end

-- A random client address from 10.0.0.0/8 (about 16.7 million).
function bench.client()
  return string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
end

local alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

-- n random lowercase letters and digits.
function bench.word(n)
  local out = {}
  for i = 1, n do
    local k = math.random(1, #alphabet)
    out[i] = alphabet:sub(k, k)
  end
  return table.concat(out)
end

-- Counts one answer by its status; call it from response().
function bench.count(status)
  local name
  if status == 201 or status == 202 or status == 409 or status == 429 then
    name = "s" .. status
  elseif status >= 500 then
    name = "s5xx"
  else
    name = "sother"
  end
  _G[name] = _G[name] + 1
end

-- One machine-readable line for scripts/bench.sh: `result key=value ...`.
function done(summary, latency, requests)
  local e = summary.errors
  local line = {
    "result",
    string.format("requests=%d", summary.requests),
    string.format("seconds=%.3f", summary.duration / 1e6),
    string.format("p50_ms=%.3f", latency:percentile(50) / 1000),
    string.format("p99_ms=%.3f", latency:percentile(99) / 1000),
    string.format("max_ms=%.3f", latency.max / 1000),
    string.format("socket_errors=%d", e.connect + e.read + e.write + e.timeout),
    string.format("non_2xx=%d", e.status),
  }
  for _, name in ipairs(counted) do
    local total = 0
    for _, thread in ipairs(threads) do
      total = total + (tonumber(thread:get(name)) or 0)
    end
    line[#line + 1] = string.format("%s=%d", name, total)
  end
  io.write(table.concat(line, " "), "\n")
end
