-- GET /api/slugs/check/{slug} with a fresh random valid slug per request: nearly all are
-- available and none is cached yet, so each one is a cache miss and a read-model query.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local headers = {}

function request()
  headers["X-Forwarded-For"] = bench.client()
  return wrk.format("GET", "/api/slugs/check/s" .. bench.word(11), headers)
end
