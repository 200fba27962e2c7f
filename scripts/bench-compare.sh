#!/usr/bin/env bash
# Side-by-side benchmark: this checkout against another revision, in one session.
#
#   scripts/bench-compare.sh REV [ROUNDS]      (just bench-compare REV [ROUNDS])
#
# Builds REV in a temporary git worktree (release, into its own target directory under this
# one's, kept between runs: two checkouts must not share one, as cargo would take one's build
# of a workspace crate for the other's) and this checkout, then runs scripts/bench.sh ROUNDS
# (2) times for each build, alternating, so that both see the same machine: its speed drifts
# between runs, and only builds measured side by side compare. Both run this checkout's
# scripts, load generator and nats-server configuration on the same seeded site, each with its
# own rebuild of the read model. BENCH_SCENARIOS, BENCH_SECONDS, BENCH_SITE_PAGES,
# BENCH_SITE_OPENED (0 for a revision from before first opens), BENCH_NATS_SYNC and the other
# bench settings pass through. Prints each run's figures, then per scenario and build the
# servers' CPU time per request (the API, projectors, nats-server and redis-server summed) of
# every round and their mean, and the requests per second.
set -euo pipefail
cd "$(dirname "$0")/.."

rev="${1:?usage: scripts/bench-compare.sh REV [ROUNDS]}"
rounds="${2:-2}"
target="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
work="$(mktemp -d)"
tree="$work/tree"
cleanup() {
  git worktree remove --force "$tree" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

label_of() { git rev-parse --short "$1"; }
base_label="$(label_of "$rev")"
head_label="this checkout"

echo "bench-compare: building $rev ($base_label)"
git worktree add --detach -q "$tree" "$rev"
(cd "$tree" && CARGO_TARGET_DIR="$target/bench-compare" cargo build --release --locked -q -p valentine-cli)
cp "$target/bench-compare/release/valentine" "$work/valentine-base"
echo "bench-compare: building this checkout"
CARGO_TARGET_DIR="$target" cargo build --release --locked -q -p valentine-cli
cp "$target/release/valentine" "$work/valentine-head"

for round in $(seq "$rounds"); do
  for build in base head; do
    label="$base_label"
    [ "$build" = head ] && label="$head_label"
    echo "bench-compare: round $round, $label"
    BENCH_BIN="$work/valentine-$build" scripts/bench.sh > "$work/run-$build-$round.txt" 2>&1 || {
      cat "$work/run-$build-$round.txt"
      echo "bench-compare: the run of $label failed" >&2
      exit 1
    }
    grep -E '^bench: ' "$work/run-$build-$round.txt" | grep -vE '^bench: (stack up|starting|creating|scenarios|seeding|rebuilding|  seeded)'
  done
done

echo
echo "CPU µs per request (servers: the API, projectors, nats-server, redis-server) and req/s, round by round:"
python3 - "$work" "$rounds" "$base_label" "$head_label" << 'PY'
import re, sys
work, rounds, labels = sys.argv[1], int(sys.argv[2]), {"base": sys.argv[3], "head": sys.argv[4]}
figures = {}
for build in ("base", "head"):
    for r in range(1, rounds + 1):
        scenario = None
        for line in open(f"{work}/run-{build}-{r}.txt"):
            m = re.match(r"^bench: (\S+)\s+(\d+) req/s", line)
            if m:
                scenario = m.group(1)
                figures.setdefault((scenario, build), {"us": [], "rps": []})["rps"].append(int(m.group(2)))
                continue
            m = re.search(r"CPU per request: servers (\d+) µs", line)
            if m and scenario:
                figures[(scenario, build)]["us"].append(int(m.group(1)))
scenarios = list(dict.fromkeys(s for s, _ in figures))
print(f"  {'scenario':<15} {'build':<14} {'µs per request':<24} {'mean':>6}   req/s")
for s in scenarios:
    for build in ("base", "head"):
        f = figures.get((s, build))
        if not f or not f["us"]:
            continue
        mean = sum(f["us"]) / len(f["us"])
        us = " · ".join(str(u) for u in f["us"])
        rps = " · ".join(f"{x:,}" for x in f["rps"])
        print(f"  {s:<15} {labels[build]:<14} {us:<24} {mean:6.0f}   {rps}")
PY
