-- GET /api/templates: the eight designs, served from memory.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local headers = {}

function request()
  headers["X-Forwarded-For"] = bench.client()
  return wrk.format("GET", "/api/templates", headers)
end
