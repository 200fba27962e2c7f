-- GET /{slug}/og.png on the pages scripts/bench.sh created first, one at random per request:
-- link-preview images, drawn once per design and title and then kept.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local prefix = os.getenv("BENCH_PAGE_PREFIX") or "bench-page-"
local count = tonumber(os.getenv("BENCH_PAGE_COUNT") or "100")
local headers = {}

function request()
  headers["X-Forwarded-For"] = bench.client()
  return wrk.format("GET", "/" .. prefix .. math.random(1, count) .. "/og.png", headers)
end
