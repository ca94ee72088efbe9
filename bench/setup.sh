#!/usr/bin/env bash
# Installs what the benchmarks need beyond npm packages: Debian's redis-server (for BullMQ) and
# PostgreSQL's server binaries (the scale scenario starts a throwaway cluster of its own).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
updated=0
apt_install() {
  if [ "$updated" = 0 ]; then apt-get update -qq; updated=1; fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
if ! command -v redis-server >/dev/null 2>&1; then
  apt_install redis-server
  # The bench starts its own redis-server on a free port; the system one is not needed.
  (systemctl disable --now redis-server 2>/dev/null || service redis-server stop 2>/dev/null) || true
fi
if ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
  apt_install postgresql
  # Likewise: the bench runs initdb in a temp dir and starts its own server on a free port.
  (systemctl disable --now postgresql 2>/dev/null || service postgresql stop 2>/dev/null) || true
fi
redis-server --version
ls -d /usr/lib/postgresql/*/bin/postgres
