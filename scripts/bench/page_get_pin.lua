-- GET /api/pages/{slug} with the right X-Page-Pin, on the private pages scripts/bench.sh
-- created first (BENCH_PAGE_PREFIX + "pin-" + 1 .. BENCH_PAGE_COUNT, PIN "2468"), one at random
-- per request: a recipient's reads of a private page after the first (the API remembers a
-- right PIN, so this measures that path, not Argon2id).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local prefix = (os.getenv("BENCH_PAGE_PREFIX") or "bench-page-") .. "pin-"
local count = tonumber(os.getenv("BENCH_PAGE_COUNT") or "100")
local headers = { ["X-Page-Pin"] = "2468" }

function request()
  headers["X-Forwarded-For"] = bench.client()
  return wrk.format("GET", "/api/pages/" .. prefix .. math.random(1, count), headers)
end
