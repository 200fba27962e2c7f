#!/usr/bin/env bash
# Writes the v1 golden corpus: a real `valentine backup` of a small, known history, with the
# content hash its read model rebuilds to. This is how the files beside this script were
# written; it is kept to document that, and to write a corpus for a later version (v2, ...)
# the same way. Never point it at a folder that already holds a corpus.
#
# Usage: write.sh VALENTINE_BIN [OUT_DIR]
#
#   VALENTINE_BIN  the `valentine` binary of the version whose output the corpus records
#   OUT_DIR        where to write the corpus (created; must be empty). Default: ./corpus-out
#
# Needs curl, jq, python3 (for free ports), redis-server and nats-server >= 2.11 (NATS_SERVER,
# else nats-server on PATH, else the project's .venv/bin/nats-server). Starts nats-server
# with JetStream, redis-server, one projector and the API on free loopback ports with
# throwaway stores, writes pages through the HTTP API, waits until the read model holds all
# of it, then runs `valentine backup`, `valentine rebuild --json` and
# `valentine rebuild --verify --json`, and finally restores the backup into a second, fresh
# nats-server and checks that a rebuild there gives the same content hash. Every process it
# starts is stopped on exit, and its temporary folder removed.
#
# The history (pages.json describes each slug in full):
#   - eight slugs, each of the eight designs used by at least one creation;
#   - pages with both names, one name or none; text that is trimmed; non-ASCII text;
#   - updates of each field alone, of several at once, removing a name (JSON null), and one
#     that changes nothing (recorded as nothing);
#   - a create retried with the same Idempotency-Key (stored once);
#   - a page deleted; a slug deleted and created again, then updated; a slug with two
#     deletions and three lives;
#   - views in two phases: the first one's counts checkpointed (VIEWS_CHECKPOINT_SECS=1), the
#     second one's not (the projector restarted with VIEWS_CHECKPOINT_SECS=3600), so the backup
#     holds checkpoints that cover part of the view tallies.
# Every title, message and name carries a unique marker gc1-<slug>-<field>-<n> (field: title,
# message, sender, recipient; n counts per slug and field across its lives, never above 9).
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
  CLIENT_IPV6_PREFIX PROJECTOR_HEALTH_ADDR

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
  RATE_LIMIT_PAGE_EDITS_PER_HOUR=0 RATE_LIMIT_JOB_POLLS_PER_MINUTE=0 RATE_LIMIT_READS_PER_MINUTE=0
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

story() { update_state --arg k "$1" --arg s "$2" '.[$k].story = $s'; }

uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }

# ---- phase 1: every kind of event, and views that get checkpointed ----------------------

# rose: classic, both names, a keyed create; each field updated on its own.
create rose rose "$(jq -cn '{slug: "rose", title: "Roses for you gc1-rose-title-1",
  message: "Every rose reminds me of you. gc1-rose-message-1", sender_name: "Sam gc1-rose-sender-1",
  recipient_name: "Alex gc1-rose-recipient-1", template_id: "classic"}')" "$(uuid)"
view rose
view rose
update rose '{"title": "Still roses gc1-rose-title-2"}' title
update rose '{"message": "Café au lait at dawn, and you 💕 gc1-rose-message-2"}' message
update rose '{"sender_name": "Samuel gc1-rose-sender-2"}' sender_name
update rose '{"recipient_name": "Alexandra gc1-rose-recipient-2"}' recipient_name
update rose '{"template_id": "modern"}' template_id
view rose
story rose "one life: created (classic, both names, with an Idempotency-Key); title, message, sender_name, recipient_name and template_id (to modern) each updated on its own; views before and after the checkpoint; alive"

# tulip: modern, no names, text that is trimmed; then four fields at once (a null template is no change).
create tulip tulip "$(jq -cn '{slug: "tulip", title: "  Tulips in spring gc1-tulip-title-1  ",
  message: "Line one gc1-tulip-message-1\nLine two: naïve, crème brûlée, señor ", template_id: "modern"}')"
update tulip "$(jq -cn '{title: "Tulips all year gc1-tulip-title-2",
  message: "Zwei Herzen, ein Schlag gc1-tulip-message-2 ❤️", sender_name: "Mia gc1-tulip-sender-1",
  recipient_name: "Noé gc1-tulip-recipient-1", template_id: null}')" title message sender_name recipient_name
view tulip
view tulip
story tulip "one life: created (modern, no names, title and message with surrounding blanks that are trimmed, a two-line message); then title, message, sender_name and recipient_name in one update (template_id null: unchanged); alive"

# daisy: playful, sender only; the sender removed with null; an update that changes nothing.
create daisy daisy "$(jq -cn '{slug: "daisy", title: "Daisy chain gc1-daisy-title-1",
  message: "He loves me, he loves me not… 🌼 gc1-daisy-message-1", sender_name: "Zoë gc1-daisy-sender-1",
  template_id: "playful"}')"
update daisy '{"sender_name": null}' sender_name
update daisy '{"title": "Daisy chain gc1-daisy-title-1"}'
view daisy
story daisy "one life: created (playful, sender only); sender_name removed (null); an update that sends the same title (nothing stored); alive, no names"

# lily: elegant, recipient only; deleted.
create lily lily "$(jq -cn '{slug: "lily", title: "For Lily gc1-lily-title-1",
  message: "A lily for the quiet hours gc1-lily-message-1", recipient_name: "Lily gc1-lily-recipient-1",
  template_id: "elegant"}')"
view lily
delete lily
gone lily
story lily "one life: created (elegant, recipient only), viewed, deleted; the slug is free"

# orchid: proposal as "Orchid"; deleted; created again as "orchid" (envelope, no names), then updated.
create orchid Orchid "$(jq -cn '{slug: "Orchid", title: "Will you? gc1-orchid-title-1",
  message: "Say yes gc1-orchid-message-1", sender_name: "Ben gc1-orchid-sender-1",
  recipient_name: "Ana gc1-orchid-recipient-1", template_id: "proposal"}')"
update orchid "$(jq -cn '{message: "Say yes, say oui, say 愛してる gc1-orchid-message-2 💍"}')" message
view orchid orchid
delete orchid
gone orchid
create orchid orchid "$(jq -cn '{slug: "orchid", title: "A letter gc1-orchid-title-2",
  message: "Open me gc1-orchid-message-3", template_id: "envelope"}')"
update orchid "$(jq -cn '{title: "A second letter gc1-orchid-title-3", recipient_name: "Ana gc1-orchid-recipient-2",
  template_id: "scratch"}')" title recipient_name template_id
view orchid
view orchid ORCHID
story orchid "two lives, one deletion: life 1 created as \"Orchid\" (proposal, both names), message updated, viewed, deleted; life 2 created as \"orchid\" (envelope, no names), then title, recipient_name (added) and template_id (to scratch) in one update, viewed (once as ORCHID); alive"

# iris: scratch; deleted; countdown as "Iris", deleted; (phase 2) classic, updated.
create iris iris "$(jq -cn '{slug: "iris", title: "Scratch here gc1-iris-title-1",
  message: "Underneath: you gc1-iris-message-1", sender_name: "Kai gc1-iris-sender-1",
  recipient_name: "Lea gc1-iris-recipient-1", template_id: "scratch"}')"
update iris '{"title": "Scratch gently gc1-iris-title-2"}' title
view iris
delete iris
gone iris
create iris Iris "$(jq -cn '{slug: "Iris", title: "Counting down gc1-iris-title-3",
  message: "3, 2, 1 ⏳ gc1-iris-message-2", template_id: "countdown"}')"
view iris
delete iris
gone iris

# violet: envelope, both names; title and a name removed in one update.
create violet violet "$(jq -cn '{slug: "violet", title: "Sealed with love gc1-violet-title-1",
  message: "Dear you gc1-violet-message-1", sender_name: "Jo gc1-violet-sender-1",
  recipient_name: "Sky gc1-violet-recipient-1", template_id: "envelope"}')"
update violet '{"title": "Sealed twice gc1-violet-title-2", "recipient_name": null}' title recipient_name
view violet
story violet "one life: created (envelope, both names); title changed and recipient_name removed (null) in one update; alive, sender only"

# poppy: countdown, both names, a keyed create retried; sender and design changed together.
poppy_key="$(uuid)"
poppy_body="$(jq -cn '{slug: "poppy", title: "Countdown to you gc1-poppy-title-1",
  message: "Ten days, nine… gc1-poppy-message-1 🎉", sender_name: "Zoë gc1-poppy-sender-1",
  recipient_name: "Luis gc1-poppy-recipient-1", template_id: "countdown"}')"
create poppy poppy "$poppy_body" "$poppy_key"
retry_create poppy "$poppy_body" "$poppy_key"
update poppy "$(jq -cn '{sender_name: "Zoé gc1-poppy-sender-2", template_id: "elegant"}')" sender_name template_id
view poppy
view poppy
view poppy
story poppy "one life: created (countdown, both names, with an Idempotency-Key), the create retried with the same key and body (same answer, stored once); sender_name and template_id (to elegant) in one update; views before and after the checkpoint; alive"

# The read model keeps one row per slug, its latest life: a new life's row replaces the old
# one's, view count included.
total_views() { jq '[.[].lives[-1].views] | add' "$state"; }
read_model_has() { # read_model_has JQ_CONDITION: on `valentine status --json`
  status_json | jq -e "$1" > /dev/null
}
views=$(total_views)
wait_until "the read model counting $views views, every one checkpointed" 60 \
  read_model_has ".read_model.views == $views and .read_model.views_behind == 0 and .read_model.views_unsaved == 0"
say "phase 1 done: $views views, all checkpointed"

# ---- phase 2: a projector that will not checkpoint for an hour; a third life; more views --

stop_named projector
start_projector 3600

create iris iris "$(jq -cn '{slug: "iris", title: "Third time gc1-iris-title-4",
  message: "Lucky gc1-iris-message-3", recipient_name: "Lea gc1-iris-recipient-2", template_id: "classic"}')"
update iris "$(jq -cn '{message: "Third time lucky, à bientôt gc1-iris-message-4", sender_name: "Kai gc1-iris-sender-2",
  template_id: "playful"}')" message sender_name template_id
view iris
view iris
story iris "three lives, two deletions: life 1 created (scratch, both names), title updated, viewed, deleted; life 2 created as \"Iris\" (countdown, no names), viewed, deleted; life 3 (after the view checkpoint) created (classic, recipient only), then message, sender_name (added) and template_id (to playful) in one update, viewed; alive"
view rose
view rose
view poppy
gone lily

views=$(total_views)
commits=$(jq '[.[].lives[].steps[] | select(.action == "create" or .action == "update" or .action == "delete")] | length' "$state")
wait_until "the read model holding all $commits commits and $views views" 60 read_model_has "
  (.streams[] | select(.name == \"EVENTS\") | .messages == $commits and .last_sequence == $commits)
  and .read_model.events_through == $commits and .read_model.events_behind == 0
  and .read_model.views == $views and .read_model.views_behind == 0"
read_model_has '.read_model.views_unsaved > 0' || die "phase 2's views were checkpointed too"
status_json > "$work/status.json"
say "phase 2 done: $commits commits, $views views, $(jq .read_model.views_unsaved "$work/status.json") pages with views past the checkpoint"

# Every live page's history as the API gives it to its author (reads no view).
for key in $(jq -r 'to_entries[] | select(.value.lives[-1].deleted | not) | .key' "$state"); do
  call GET "/api/pages/$(current "$key" slug)/history" "$(current "$key" edit_token)"
  expect 200 "history of $key"
  update_state --arg k "$key" --argjson h "$BODY" '.[$k].lives[-1].history = $h.events'
done

# ---- backup, rebuild, verify ------------------------------------------------------------

ops backup "$work/backup" > /dev/null
ops rebuild --json > "$work/rebuild.json"
ops rebuild --verify --json > "$work/verify.json"
hash=$(jq -r .content_hash "$work/rebuild.json")
jq -e --arg h "$hash" '.live == $h and .fresh == $h' "$work/verify.json" > /dev/null ||
  die "rebuild --verify disagrees: $(cat "$work/verify.json")"
events_last=$(jq '.streams[] | select(.name == "EVENTS") | .last_sequence' "$work/backup/backup.json")
[ "$events_last" = "$commits" ] || die "the backup holds events up to $events_last, not $commits"
say "backup written; content hash $hash"

# The backup restored into a fresh server rebuilds to the same hash.
start nats-restore "$nats_server" -js -a 127.0.0.1 -p "$restore_port" -sd "$work/restore-nats"
wait_until "nats-server on :$restore_port" 20 listening "$restore_port"
NATS_URL="nats://127.0.0.1:$restore_port" REDIS_URL='' DATABASE_PATH="$work/restored.db" \
  ops restore "$work/backup" > /dev/null
restored=$(NATS_URL="nats://127.0.0.1:$restore_port" REDIS_URL='' DATABASE_PATH="$work/restored.db" ops rebuild)
[ "$restored" = "$hash" ] || die "the restored backup rebuilds to $restored, not $hash"
say "restored into a fresh server: same content hash"

# ---- the corpus -------------------------------------------------------------------------

mkdir -p "$out"
cp "$work/backup/backup.json" "$work/backup"/*.jsonl "$out/"
sqlite_bytes=$(stat -c %s "$work/backup/read-model.sqlite")
if [ "$sqlite_bytes" -lt 204800 ]; then
  cp "$work/backup/read-model.sqlite" "$out/"
else
  say "read-model.sqlite is $sqlite_bytes bytes: left out"
fi

jq -n --arg hash "$hash" --argjson last "$events_last" --arg by "$written_by" \
  '{content_hash: $hash, events_last_sequence: $last, written_by: $by}' > "$out/expected.json"

marker_re='gc1-[a-z]+-(?:title|message|sender|recipient)-[0-9]'
jq --arg secret "$IP_HASH_SECRET" --arg re "$marker_re" '
  def markers: [.. | strings | scan($re)] | unique;
  {
    about: "Every slug of the corpus, by its lower-case key. A marker gc1-<slug>-<field>-<n> is in every title, message and name sent (all_markers; markers per life). current_markers: those in the live page as the API shows it now (none for a deleted slug). read_model_row: the row of the slug in the read model, which holds its latest life only (deleted or not), with the view count and the markers of that life. Positions are sequences in the EVENTS stream; a page id is the position of its creation. views: the reads of each life that found the page. edit_token: the token of the current life (null when the slug is deleted); the token of every life is in history.",
    ip_hash_secret: $secret,
    slugs: (with_entries(.value |= (
      (.lives[-1].deleted | not) as $alive
      | {
          slug: .lives[-1].slug,
          alive: $alive,
          edit_token: (if $alive then .lives[-1].edit_token else null end),
          lives: (.lives | length),
          deletions: ([.lives[] | select(.deleted)] | length),
          story: .story,
          current_markers: (if $alive then (.lives[-1].page | markers) else [] end),
          read_model_row: (.lives[-1] | {life, page_id, deleted, view_count: .views, markers: (.page | markers)}),
          all_markers: ([.lives[].steps[].sent] | markers),
          history: [.lives[] | {
            life, slug, page_id, edit_token, idempotency_key, deleted, views,
            markers: ([.steps[].sent] | markers),
            steps,
            page_as_last_read: .page,
            events_as_the_author_sees_them: .history
          } | with_entries(select(.value != null))]
        }
    )))
  }' "$state" > "$out/pages.json"

say "corpus written to $out (written by $written_by)"
jq -r '.streams[] | "\(.name): \(.messages) messages"' "$work/status.json" >&2
