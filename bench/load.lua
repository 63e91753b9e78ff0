-- wrk requests for bench/run.py: `wrk -s bench/load.lua URL -- MODE ARGS...`; done() prints one JSON line.
--   hot   PREFIX LO N             GET PREFIX..id, id uniform in [LO, LO+N)
--   walk  PREFIX LO HI THREADS    GET each id of [LO, HI) once, split over threads; stops when done
--                                 ("reached": the next id one thread would have sent)
--   paths FILE                    GET a path picked uniformly from FILE (one per line)
--   put   LO N TOKEN              PUT /products/id with a random price and stock
--   mix   LO N TOKEN PERCENT      PERCENT% PUTs as above, the rest GETs, ids uniform in [LO, LO+N)
-- With BENCH_RATE set (requests a second, one thread), sends follow a fixed timetable, as wrk2 does:
-- delay() gives each free connection the next slot; a slot taken late (every connection was busy)
-- is counted in "late", so a run with late = 0 has no coordinated omission.

local ffi = require("ffi")
ffi.cdef("typedef struct { long sec; long nsec; } bench_time; int clock_gettime(int, bench_time *);")
local clock = ffi.new("bench_time")
local threads, made = {}, 0

local function now_ms()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.sec) * 1000 + tonumber(clock.nsec) / 1e6
end

function setup(thread)
  thread:set("tid", made)
  made = made + 1
  table.insert(threads, thread)
end

local function put_request(id)
  local body = string.format('{"price": "%d.%02d", "stock": %d}',
    math.random(1, 500), math.random(0, 99), math.random(0, 1000))
  return wrk.format("PUT", "/products/" .. id, headers, body)
end

function init(args)
  math.randomseed(os.time() * 1000 + tid * 7919 + math.floor(os.clock() * 1e6))
  mode, prebuilt, overflow = args[1], {}, 0
  interval, slot, late, started = 1000 / (tonumber(os.getenv("BENCH_RATE")) or 0), 0, 0, nil
  if mode == "hot" then
    for id = tonumber(args[3]), tonumber(args[3]) + tonumber(args[4]) - 1 do
      table.insert(prebuilt, wrk.format("GET", args[2] .. id))
    end
  elseif mode == "walk" then
    prefix = args[2]
    local lo, hi, n = tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
    local span = math.floor((hi - lo) / n)
    next_id, last_id = lo + tid * span, lo + (tid + 1) * span - 1
  elseif mode == "paths" then
    for line in io.lines(args[2]) do
      if line ~= "" then table.insert(prebuilt, wrk.format("GET", line)) end
    end
  else
    lo, n, percent = tonumber(args[2]), tonumber(args[3]), tonumber(args[5] or 100)
    headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[4] }
    for id = lo, percent < 100 and lo + n - 1 or lo - 1 do
      table.insert(prebuilt, wrk.format("GET", "/products/" .. id))
    end
  end
end

if os.getenv("BENCH_RATE") then
  function delay()
    local now = now_ms()
    started = started or now
    local due = started + slot * interval
    slot = slot + 1
    if now - due > 1 then late = late + 1 end
    return math.max(0, due - now)
  end
end

function request()
  if mode == "walk" then
    if next_id > last_id then
      overflow = 1
      wrk.thread:stop()
    end
    next_id = next_id + 1
    return wrk.format("GET", prefix .. (next_id - 1))
  elseif mode == "put" or mode == "mix" then
    if math.random(100) <= percent then
      return put_request(lo + math.random(n) - 1)
    end
  end
  return prebuilt[math.random(#prebuilt)]
end

function done(summary, latency, requests)
  local overflowed, lates, reached = 0, 0, 0
  for _, thread in ipairs(threads) do
    overflowed = overflowed + (thread:get("overflow") or 0)
    lates = lates + (thread:get("late") or 0)
    reached = math.max(reached, thread:get("next_id") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "exhausted": %d, "late": %d, "reached": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, overflowed, lates, reached))
end
