# Valentine: recipes for daily work. `just` alone lists them.

set shell := ["bash", "-euo", "pipefail", "-c"]
set dotenv-load := true

# Tools installed by scripts/bootstrap.sh (just, nats-server, check-jsonschema, schemathesis) come first.
export PATH := justfile_directory() / ".venv/bin" + ":" + env("PATH")

# List the recipes
default:
    @just --list --unsorted

# Install what this machine lacks (idempotent)
bootstrap:
    scripts/bootstrap.sh

# Build and start everything (NATS, Redis, 2 projectors, the API with the web app) on :8000; Ctrl-C stops it
up:
    scripts/up.sh

# Run N projectors in the system of `just up` (starts or stops workers while it runs)
scale-projectors N:
    #!/usr/bin/env bash
    set -euo pipefail
    [ -f .run/up.pid ] && kill -0 "$(cat .run/up.pid)" 2> /dev/null || { echo "scale-projectors: just up is not running" >&2; exit 1; }
    [[ "{{ N }}" =~ ^[1-9][0-9]*$ ]] || { echo "scale-projectors: N must be 1 or more" >&2; exit 1; }
    echo "{{ N }}" > .run/projectors
    kill -HUP "$(cat .run/up.pid)"
    echo "scale-projectors: asked for {{ N }}; see the output of just up"

# Follow the logs of `just up` (.run/*.log)
logs:
    tail -n 20 -F .run/*.log

# Serve the HTTP API against the servers of `just up` (BIND_ADDR, default 127.0.0.1:8000)
api:
    @cargo run -q -p valentine-cli -- api

# Run one projector worker against the servers of `just up` (start several to scale)
projector:
    @cargo run -q -p valentine-cli -- projector

# Run one notifier against the servers of `just up` (set SMTP_URL); several share the work
notifier:
    @cargo run -q -p valentine-cli -- notifier

# Erase a slug's pages without the edit token, for a legal request; the reason is kept in the stream
erase SLUG REASON:
    @cargo run -q -p valentine-cli -- erase {{ SLUG }} --reason {{ quote(REASON) }}

# Rebuild the read model from the whole stream and swap it in; `just rebuild --verify` compares
rebuild *ARGS:
    @cargo run -q --release -p valentine-cli -- rebuild {{ ARGS }}

# The event streams, the projectors' lag and the read model's counts (add --json for JSON)
status *ARGS:
    @cargo run -q -p valentine-cli -- status {{ ARGS }}

# Events projectors parked (add --json); `just parked retry SEQ --reason "…"`, `just parked skip SEQ --reason "…"`
[positional-arguments]
parked *ARGS:
    @cargo run -q -p valentine-cli -- parked "$@"

# A new admin token for the console (/admin) and the ADMIN_TOKEN_HASH entry that admits it
admin-token NAME="admin":
    @cargo run -q -p valentine-cli -- admin-token --name {{ quote(NAME) }}

# A consistent copy of the event streams and the read model into DIR (default backups/<time>)
backup DIR="":
    #!/usr/bin/env bash
    set -euo pipefail
    dir="{{ DIR }}"
    [ -n "$dir" ] || dir="backups/$(date -u +%Y%m%dT%H%M%SZ)"
    cargo run -q -p valentine-cli -- backup "$dir"

# Print a page's full event history from the stream (add --json for JSON)
replay SLUG *ARGS:
    @cargo run -q -p valentine-cli -- replay {{ SLUG }} {{ ARGS }}

# Rebuild benchmark: EVENTS (1,000,000) mixed events into a throwaway server, timed rebuild
bench-rebuild:
    @scripts/bench-rebuild.sh

# HTTP API benchmark: the whole stack on a seeded site of a million pages, closed- and open-loop
# scenarios, req/s, latency and CPU per request of every process
bench:
    @scripts/bench.sh

# The HTTP benchmark of this checkout and of revision REV side by side, alternating, ROUNDS times each
bench-compare REV ROUNDS="2":
    @scripts/bench-compare.sh {{ REV }} {{ ROUNDS }}

# The cost of an fsync per event: the create scenario at sync_interval "2m" and "always", alternating, ROUNDS times each
bench-durability ROUNDS="2":
    #!/usr/bin/env bash
    set -euo pipefail
    for round in $(seq {{ ROUNDS }}); do
      for sync in 2m always; do
        BENCH_NATS_SYNC="$sync" BENCH_SCENARIOS=create scripts/bench.sh | grep -E '^bench: (stack up|create| +CPU)'
      done
    done

# Everything CI runs: formatting, lints, compose checks, alert rules, the web app's checks, end-to-end tests and the API fuzz run, then every Rust test
test: fmt-check lint check-compose check-rules web-check e2e fuzz
    cargo nextest run --workspace

# The web app: types, formatting and unit tests (Vitest)
web-check:
    cd web && npm run --silent typecheck && npm run --silent format:check && npm test

# End-to-end tests in Chromium against the real stack (scripts/e2e.sh); screenshots in web/test-results/
e2e *ARGS:
    E2E_ARGS="{{ ARGS }}" scripts/e2e.sh

# Fuzz the HTTP API against its OpenAPI document on the real stack (scripts/fuzz.sh); reports in .run/fuzz/
fuzz:
    scripts/fuzz.sh

# Copy the screenshots of the last end-to-end run into docs/screenshots/
screenshots:
    mkdir -p docs/screenshots
    cp web/test-results/screenshots/*.png docs/screenshots/

# Format the Rust code and the web app
fmt:
    cargo fmt --all
    cd web && npm run --silent format

# Fail if the Rust code is not formatted
fmt-check:
    cargo fmt --all --check

# Clippy on every target, warnings as errors
lint:
    cargo clippy --workspace --all-targets --locked -- -D warnings

# Check the compose files (compose-spec schema) and prometheus.yml (promtool) and that they agree with the code
check-compose:
    check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml deploy/tls/compose.yml \
      deploy/nats-cluster/compose.yml deploy/nats-cluster/tls.yml \
      deploy/multi-node/compose.yml deploy/multi-node/tls.yml
    @command -v promtool > /dev/null || { echo "check-compose: promtool is missing; run scripts/bootstrap.sh" >&2; exit 1; }
    promtool check config deploy/multi-node/prometheus.yml
    python3 scripts/check-compose.py

# Check the alert rules (promtool: syntax and unit tests; each with its runbook and tests), the one-host prometheus.yml and the Grafana dashboard
check-rules:
    @command -v promtool > /dev/null || { echo "check-rules: promtool is missing; run scripts/bootstrap.sh" >&2; exit 1; }
    promtool check rules deploy/prometheus/alerts.yml
    promtool test rules deploy/prometheus/alerts.test.yml
    promtool check config deploy/prometheus/prometheus.yml
    python3 scripts/check-alerts.py
    python3 -m json.tool deploy/prometheus/grafana-dashboard.json > /dev/null

# Remove build output and local data (data/, .run/, the web build and its test output)
clean:
    cargo clean
    rm -rf data .run web/dist web/test-results
