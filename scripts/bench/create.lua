-- POST /api/pages with a unique slug per request (b<thread>-<counter>-<random>) and one of
-- the eight templates; answers are counted by status (201, 202, ...) for scripts/bench.sh.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local templates = { "classic", "modern", "playful", "elegant", "proposal", "envelope", "scratch", "countdown" }
local message = "Every day with you is my favourite day. Thank you for the laughter, the patience "
  .. "and the quiet mornings. Will you be my valentine?"
local headers = { ["Content-Type"] = "application/json" }
local counter = 0

function request()
  counter = counter + 1
  local slug = string.format("b%d-%d-%s", thread_id, counter, bench.word(6))
  local body = string.format(
    '{"slug":"%s","title":"For you","message":"%s","sender_name":"Sam","recipient_name":"Alex","template_id":"%s"}',
    slug,
    message,
    templates[math.random(1, #templates)]
  )
  headers["X-Forwarded-For"] = bench.client()
  return wrk.format("POST", "/api/pages", headers, body)
end

function response(status, headers, body)
  bench.count(status)
end
