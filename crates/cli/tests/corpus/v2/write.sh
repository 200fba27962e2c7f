#!/usr/bin/env bash
# Writes the v2 golden corpus: a real `valentine backup` of a small, known history of the
# event versions v2 introduced (PageCreated and PageUpdated 1.1 with a song, a reveal time
# and a PIN; PhotoSet 1.0), sealed as this version seals them, with the data keys and the
# photo store, and the content hash its read model rebuilds to. Written the way v1's
# write.sh wrote v1 (the process handling below is v1's); never point it at a folder that
# already holds a corpus.
#
# Usage: write.sh VALENTINE_BIN [OUT_DIR]
#
# The history (pages.json describes each slug):
#   - lark: countdown, created with a song, a reveal time a year ahead and a PIN; a photo;
#     then the song changed and a new PIN; alive;
#   - wren: classic, created with a song; a photo attached, then removed; a reveal time
#     set, then removed; alive;
#   - finch: modern, created with a PIN and a photo; deleted (erased, its photo with it).
# Every title and message carries a marker gc2-<slug>-<field>-<n>.
set -euo pipefail

die() {
  printf 'write.sh: %s\n' "$*" >&2
  exit 1
}
say() { printf 'write.sh: %s\n' "$*" >&2; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: write.sh VALENTINE_BIN [OUT_DIR]"
bin=$1
out=${2:-corpus-out}
[ -x "$bin" ] || die "$bin is not an executable"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then die "$out is not empty: a corpus is never rewritten"; fi
here="$(cd "$(dirname "$0")" && pwd)"
written_by=${WRITTEN_BY:-$(git -C "$here" rev-parse --short HEAD)}

for tool in curl jq python3 redis-server; do
  command -v "$tool" > /dev/null || die "$tool is not on PATH"
done
nats_server=${NATS_SERVER:-}
if [ -z "$nats_server" ]; then
  if command -v nats-server > /dev/null; then
    nats_server=nats-server
  else
    nats_server="$(git -C "$here" rev-parse --show-toplevel)/.venv/bin/nats-server"
  fi
fi
[ -x "$(command -v "$nats_server")" ] || die "no nats-server (set NATS_SERVER)"

work="$(mktemp -d)"
logs="$work/logs"
mkdir -p "$logs"

# ---- processes --------------------------------------------------------------------------

names=()
pids=()
start() { # start NAME COMMAND...: in the background, output in $logs/NAME.log
  local name=$1
  shift
  "$@" > "$logs/$name.log" 2>&1 &
  names+=("$name")
  pids+=($!)
}

stop_pids() { # TERM, up to 10 s, then KILL
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2> /dev/null || true
  local pid running
  for _ in $(seq 100); do
    running=0
    for pid in "$@"; do kill -0 "$pid" 2> /dev/null && running=1; done
    [ "$running" = 0 ] && break
    sleep 0.1
  done
  kill -KILL "$@" 2> /dev/null || true
  wait "$@" 2> /dev/null || true
}

stop_named() { # stop_named NAME: stops that process and forgets it
  local i
  for i in "${!names[@]}"; do
    if [ "${names[$i]}" = "$1" ]; then
      stop_pids "${pids[$i]}"
      unset 'names[i]' 'pids[i]'
      names=("${names[@]}")
      pids=("${pids[@]}")
      return 0
    fi
  done
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  local i valentine=() servers=()
  for i in "${!pids[@]}"; do
    case "${names[$i]}" in
      nats* | redis*) servers+=("${pids[$i]}") ;;
      *) valentine+=("${pids[$i]}") ;;
    esac
  done
  stop_pids "${valentine[@]}"
  stop_pids "${servers[@]}"
  if [ "$status" -ne 0 ]; then
    for f in "$logs"/*.log; do
      [ -e "$f" ] || continue
      echo "---- $(basename "$f") (last 20 lines)" >&2
      tail -n 20 "$f" >&2 || true
    done
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

all_alive() {
  local i
  for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2> /dev/null || die "${names[$i]} exited"
  done
}

wait_until() { # wait_until WHAT SECONDS COMMAND...: polls every 0.1 s
  local what=$1 limit=$2
  shift 2
  for _ in $(seq $((limit * 10))); do
    "$@" && return 0
    all_alive
    sleep 0.1
  done
  die "$what: not within $limit s"
}

free_ports() {
  python3 - "$1" << 'PY'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}
listening() { (exec 5<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
answers_200() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ]; }

# ---- the system -------------------------------------------------------------------------

# Only what this script sets applies (the variables the binary reads).
unset NATS_URL NATS_USER NATS_PASSWORD NATS_TLS_CA NATS_TLS_CERT NATS_TLS_KEY \
  REDIS_URL REDIS_PASSWORD DATABASE_PATH NATS_REPLICAS \
  PROJECTOR_BATCH_SIZE READ_MODEL_ID REDIS_CLUSTER LOG_FORMAT RUST_LOG BIND_ADDR ALLOWED_ORIGINS \
  FRONTEND_DOMAIN RATE_LIMIT_PAGES_PER_HOUR RATE_LIMIT_SLUG_CHECKS_PER_MINUTE SYNC_WAIT_MS \
  TRUSTED_PROXIES IP_HASH_SECRET WEB_DIST MAX_BODY_BYTES READ_CONNECTIONS \
  RATE_LIMIT_EDITS_PER_MINUTE RATE_LIMIT_PAGE_EDITS_PER_HOUR RATE_LIMIT_JOB_POLLS_PER_MINUTE \
  RATE_LIMIT_READS_PER_MINUTE MAX_EVENTS_PER_PAGE EVENTS_MAX_BYTES HEADER_READ_TIMEOUT_SECS IDLE_TIMEOUT_SECS \
  MAX_CONNECTIONS VIEWS_MAX_AGE_DAYS VIEWS_CHECKPOINT_SECS IDEMPOTENCY_WINDOW_HOURS \
  CLIENT_IPV6_PREFIX PROJECTOR_HEALTH_ADDR RATE_LIMIT_ANSWERS_PER_MINUTE MAX_INSIGHT_STREAMS \
  RATE_LIMIT_PHOTOS_PER_HOUR RATE_LIMIT_PIN_GUESSES_PER_HOUR RATE_LIMIT_PAGE_PIN_GUESSES_PER_HOUR \
  RATE_LIMIT_PAGE_PIN_GUESSES_PER_MONTH

read -r nats_port redis_port api_port projector_port restore_port <<< "$(free_ports 5)"
mkdir -p "$work/nats" "$work/redis" "$work/restore-nats"

start nats "$nats_server" -js -a 127.0.0.1 -p "$nats_port" -sd "$work/nats"
start redis redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$work/redis" --save '' --appendonly no
wait_until "nats-server on :$nats_port" 20 listening "$nats_port"
wait_until "redis-server on :$redis_port" 20 listening "$redis_port"

export NATS_URL="nats://127.0.0.1:$nats_port"
export REDIS_URL="redis://127.0.0.1:$redis_port"
export DATABASE_PATH="$work/valentine.db"
export READ_MODEL_ID=main
export LOG_FORMAT=text RUST_LOG=info
export RATE_LIMIT_PAGES_PER_HOUR=0 RATE_LIMIT_SLUG_CHECKS_PER_MINUTE=0 RATE_LIMIT_EDITS_PER_MINUTE=0 \
  RATE_LIMIT_PAGE_EDITS_PER_HOUR=0 RATE_LIMIT_JOB_POLLS_PER_MINUTE=0 RATE_LIMIT_READS_PER_MINUTE=0 \
  RATE_LIMIT_PHOTOS_PER_HOUR=0 RATE_LIMIT_PIN_GUESSES_PER_HOUR=0
# A known secret, recorded in pages.json with the keyed creates' Idempotency-Keys.
IP_HASH_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
export IP_HASH_SECRET

start_projector() { # start_projector CHECKPOINT_SECS
  start projector env VIEWS_CHECKPOINT_SECS="$1" PROJECTOR_HEALTH_ADDR="127.0.0.1:$projector_port" "$bin" projector
  wait_until "the projector's /ready" 60 answers_200 "http://127.0.0.1:$projector_port/ready"
}
start_projector 1
wait_until "the read model at $DATABASE_PATH" 60 test -L "$DATABASE_PATH"
start api env BIND_ADDR="127.0.0.1:$api_port" "$bin" api
base="http://127.0.0.1:$api_port"
wait_until "the API's /ready" 60 answers_200 "$base/ready"
say "system up: NATS :$nats_port, Redis :$redis_port, API :$api_port"

ops() { RUST_LOG=warn "$bin" "$@" 2>> "$logs/ops.log"; }
status_json() { ops status --json; }

# ---- the API, and what was done with it -------------------------------------------------

state="$work/state.json"
echo '{}' > "$state"
update_state() { jq "$@" "$state" > "$state.new" && mv "$state.new" "$state"; }

last_position=0
STATUS='' BODY='' POSITION=''
call() { # call METHOD PATH [TOKEN] [JSON] [IDEMPOTENCY_KEY]; reads wait for the latest write
  local method=$1 path=$2 token=${3:-} body=${4:-} key=${5:-}
  local args=(-sS -X "$method" -o "$work/body" -D "$work/headers" -w '%{http_code}')
  [ -n "$token" ] && args+=(-H "X-Edit-Token: $token")
  [ -n "$key" ] && args+=(-H "Idempotency-Key: $key")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  [ "$method" = GET ] && args+=(-H "Valentine-Min-Position: $last_position")
  STATUS=$(curl "${args[@]}" "$base$path")
  BODY=$(cat "$work/body")
  POSITION=$(tr -d '\r' < "$work/headers" | awk 'tolower($1) == "valentine-position:" { print $2 }')
  if [ -n "$POSITION" ] && [ "$POSITION" -gt "$last_position" ]; then last_position=$POSITION; fi
}
expect() { # expect STATUS... WHAT
  local what=${*: -1} s
  for s in "${@:1:$#-1}"; do [ "$STATUS" = "$s" ] && return 0; done
  die "$what: answered $STATUS: $BODY"
}
current() { jq -r --arg k "$1" ".[\$k].lives[-1].$2" "$state"; }

# create KEY SLUG JSON [IDEMPOTENCY_KEY]: a new life of KEY (the slug in lower case)
create() {
  local key=$1 slug=$2 body=$3 idem=${4:-}
  call POST /api/pages "" "$body" "$idem"
  expect 201 202 "create $slug"
  local token answer=$STATUS position=$POSITION
  token=$(jq -r .edit_token <<< "$BODY")
  call GET "/api/pages/$slug/history" "$token"
  expect 200 "history of $slug"
  local page_id
  page_id=$(jq .page_id <<< "$BODY")
  update_state --arg k "$key" --arg slug "$slug" --arg token "$token" --argjson id "$page_id" \
    --argjson sent "$body" --arg idem "$idem" --argjson pos "$position" --arg answer "$answer" '
    .[$k] //= {lives: []}
    | .[$k].lives += [{
        life: ((.[$k].lives | length) + 1), slug: $slug, page_id: $id, edit_token: $token,
        idempotency_key: (if $idem == "" then null else $idem end),
        steps: [{action: "create", answer: ($answer | tonumber), position: $pos, sent: $sent}],
        views: 0, deleted: false}]'
}

# retry_create KEY JSON IDEMPOTENCY_KEY: the same create again; must answer the same token
retry_create() {
  local key=$1 body=$2 idem=$3
  call POST /api/pages "" "$body" "$idem"
  expect 201 202 "retried create of $key"
  [ "$(jq -r .edit_token <<< "$BODY")" = "$(current "$key" edit_token)" ] || die "retry of $key: another token"
  update_state --arg k "$key" --argjson sent "$body" --argjson pos "${POSITION:-null}" '
    .[$k].lives[-1].steps += [{action: "create retried with the same Idempotency-Key and body (nothing stored)",
                               position: $pos, sent: $sent}]'
}

# update KEY JSON FIELD...: a PATCH that changes exactly the FIELDs named (none: changes nothing)
update() {
  local key=$1 body=$2
  shift 2
  local fields
  fields=$(jq -cn '$ARGS.positional' --args "$@")
  call PATCH "/api/pages/$(current "$key" slug)" "$(current "$key" edit_token)" "$body"
  expect 200 "update of $key"
  update_state --arg k "$key" --argjson sent "$body" --argjson pos "$POSITION" --argjson fields "$fields" '
    .[$k].lives[-1].steps += [{action: (if $fields == [] then "update that changes nothing (nothing stored)" else "update" end),
                               changed_fields: $fields, position: $pos, sent: $sent}]'
}

# delete KEY
delete() {
  local key=$1
  call DELETE "/api/pages/$(current "$key" slug)" "$(current "$key" edit_token)"
  expect 200 "delete of $key"
  update_state --arg k "$key" --argjson pos "$POSITION" '
    .[$k].lives[-1].steps += [{action: "delete", position: $pos}] | .[$k].lives[-1].deleted = true'
}

# view KEY [PATH_SLUG]: a read that counts a view; keeps the page as read (less its view count)
view() {
  local key=$1 path=${2:-}
  [ -n "$path" ] || path=$(current "$key" slug)
  call GET "/api/pages/$path"
  expect 200 "read of $path"
  update_state --arg k "$key" --argjson page "$BODY" '
    .[$k].lives[-1].views += 1 | .[$k].lives[-1].page = ($page | del(.view_count))'
}

# gone SLUG: a read that finds nothing
gone() {
  call GET "/api/pages/$1"
  expect 404 "read of the deleted $1"
}

# photo KEY PNG_FILE: attaches (or replaces) the photo; remove_photo KEY
photo() {
  local key=$1 file=$2
  STATUS=$(curl -sS -X PUT -o "$work/body" -D "$work/headers" -w '%{http_code}' \
    -H "X-Edit-Token: $(current "$key" edit_token)" -H 'Content-Type: image/png' --data-binary "@$file" \
    "$base/api/pages/$(current "$key" slug)/photo")
  BODY=$(cat "$work/body")
  expect 200 "photo of $key"
  POSITION=$(tr -d '\r' < "$work/headers" | awk 'tolower($1) == "valentine-position:" { print $2 }')
  [ "$POSITION" -gt "$last_position" ] && last_position=$POSITION
  update_state --arg k "$key" --argjson pos "$POSITION" --argjson photo "$(jq -c .photo <<< "$BODY")" '
    .[$k].lives[-1].steps += [{action: "photo", position: $pos, photo: $photo}]'
}
remove_photo() {
  local key=$1
  call DELETE "/api/pages/$(current "$key" slug)/photo" "$(current "$key" edit_token)"
  expect 200 "photo removal of $key"
  update_state --arg k "$key" --argjson pos "$POSITION" '.[$k].lives[-1].steps += [{action: "photo removed", position: $pos}]'
}

# png FILE WIDTH HEIGHT R G B: a gradient PNG
png() {
  python3 - "$@" << 'PY'
import struct, sys, zlib
path, w, h, r, g, b = sys.argv[1], *map(int, sys.argv[2:])
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
rows = b"".join(b"\0" + bytes(v for x in range(w) for v in (r, (g + x) % 256, (b + y) % 256)) for y in range(h))
with open(path, "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
PY
}

story() { update_state --arg k "$1" --arg s "$2" '.[$k].story = $s'; }
a_year_ahead() { python3 -c 'import datetime as d; print((d.datetime.now(d.timezone.utc) + d.timedelta(days=360)).strftime("%Y-%m-%dT%H:%M:%S+02:00"))'; }

# ---- the history -------------------------------------------------------------------------

png "$work/one.png" 96 64 233 30 99
png "$work/two.png" 64 96 136 14 79

create lark lark "$(jq -cn --arg at "$(a_year_ahead)" '{slug: "lark", title: "At last gc2-lark-title-1",
  message: "Open me on our day gc2-lark-message-1", recipient_name: "Alex", template_id: "countdown",
  song_url: "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=x", reveal_at: $at, pin: "2468"}')"
photo lark "$work/one.png"
update lark '{"song_url": "https://youtu.be/dQw4w9WgXcQ", "pin": "97531"}' song_url pin
story lark "created (countdown) with a song, a reveal time and the PIN 2468; a photo; the song changed and the PIN changed to 97531; alive, waiting"

create wren wren "$(jq -cn '{slug: "wren", title: "Our song gc2-wren-title-1", message: "Press play gc2-wren-message-1",
  template_id: "classic", song_url: "https://music.apple.com/us/album/la-vie-en-rose/1440857781?i=1440858087"}')"
photo wren "$work/two.png"
remove_photo wren
update wren "$(jq -cn --arg at "$(a_year_ahead)" '{reveal_at: $at}')" reveal_at
update wren '{"reveal_at": null}' reveal_at
story wren "created (classic) with an Apple Music song; a photo attached and removed; a reveal time set and removed; alive"

create finch finch "$(jq -cn '{slug: "finch", title: "Gone gc2-finch-title-1", message: "Soon erased gc2-finch-message-1",
  template_id: "modern", pin: "1111"}')"
photo finch "$work/one.png"
delete finch
story finch "created (modern) with the PIN 1111; a photo; deleted (erased, with its photo)"

read_model_has() { status_json | jq -e "$1" > /dev/null; }
commits=$(status_json | jq '.streams[] | select(.name == "EVENTS") | .last_sequence')
wait_until "the read model holding all $commits events" 60 read_model_has "
  .read_model.events_through == $commits and .read_model.events_behind == 0"

# Every live page's history as the API gives it to its author.
for key in lark wren; do
  call GET "/api/pages/$(current "$key" slug)/history" "$(current "$key" edit_token)"
  expect 200 "history of $key"
  update_state --arg k "$key" --argjson h "$BODY" '.[$k].lives[-1].history = $h.events'
  call GET "/api/pages/$(current "$key" slug)" "$(current "$key" edit_token)"
  expect 200 "the author's read of $key"
  update_state --arg k "$key" --argjson page "$BODY" '.[$k].lives[-1].page = ($page | del(.view_count))'
done

# ---- backup, rebuild, verify ------------------------------------------------------------

ops backup "$work/backup" > /dev/null
ops rebuild --json > "$work/rebuild.json"
ops rebuild --verify --json > "$work/verify.json"
hash=$(jq -r .content_hash "$work/rebuild.json")
jq -e --arg h "$hash" '.live == $h and .fresh == $h' "$work/verify.json" > /dev/null ||
  die "rebuild --verify disagrees: $(cat "$work/verify.json")"
events_last=$(jq '.streams[] | select(.name == "EVENTS") | .last_sequence' "$work/backup/backup.json")
say "backup written; content hash $hash"

start nats-restore "$nats_server" -js -a 127.0.0.1 -p "$restore_port" -sd "$work/restore-nats"
wait_until "nats-server on :$restore_port" 20 listening "$restore_port"
NATS_URL="nats://127.0.0.1:$restore_port" REDIS_URL='' DATABASE_PATH="$work/restored.db" \
  ops restore "$work/backup" > /dev/null
restored=$(NATS_URL="nats://127.0.0.1:$restore_port" REDIS_URL='' DATABASE_PATH="$work/restored.db" ops rebuild)
[ "$restored" = "$hash" ] || die "the restored backup rebuilds to $restored, not $hash"
say "restored into a fresh server: same content hash"

# ---- the corpus -------------------------------------------------------------------------

mkdir -p "$out"
cp "$work/backup/backup.json" "$work/backup"/*.jsonl "$work/backup/read-model.sqlite" "$out/"
jq -n --arg hash "$hash" --argjson last "$events_last" --arg by "$written_by" \
  '{content_hash: $hash, events_last_sequence: $last, written_by: $by}' > "$out/expected.json"
jq '{about: "Every slug of the corpus: its story, the token and PIN of its current life (null when deleted), each step sent and where it landed, the page as its author last read it, and its history.",
  slugs: with_entries(.value |= {story, alive: (.lives[-1].deleted | not),
    edit_token: (if .lives[-1].deleted then null else .lives[-1].edit_token end),
    life: .lives[-1]})}' "$state" > "$out/pages.json"
say "corpus written to $out (written by $written_by)"
