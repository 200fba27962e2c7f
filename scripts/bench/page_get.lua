-- GET /api/pages/{slug} on the pages scripts/bench.sh created first:
-- BENCH_PAGE_PREFIX1 .. BENCH_PAGE_PREFIX<BENCH_PAGE_COUNT>, one at random per request.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local prefix = os.getenv("BENCH_PAGE_PREFIX") or "bench-page-"
local count = tonumber(os.getenv("BENCH_PAGE_COUNT") or "100")
local headers = {}

function request()
  headers["X-Forwarded-For"] = bench.client()
  return wrk.format("GET", "/api/pages/" .. prefix .. math.random(1, count), headers)
end
