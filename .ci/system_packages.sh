#!/usr/bin/env bash
# Debian packages the test suite needs on the machine itself: Chromium for the browser test
# (Playwright drives the Debian build; `playwright install` downloads are not used),
# PostgreSQL's binaries (tests start throwaway clusters of their own; see tests/postgres.py)
# and Redis, the broker of the Celery cluster test (started by the test, on loopback).
# Idempotent; needs root or sudo, which the CI machines and the dev machines have.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo -n)
echo "installing Debian packages for the tests: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/apt-install.log 2>&1; then
  "${as_root[@]}" apt-get update -q >/tmp/apt-update.log 2>&1
  "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/apt-install.log 2>&1 \
    || { tail -20 /tmp/apt-install.log; exit 1; }
fi
