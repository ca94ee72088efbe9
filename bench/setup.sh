#!/usr/bin/env bash
# Installs what the benchmarks need beyond npm packages: Debian's redis-server (for BullMQ).
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  # The bench starts its own redis-server on a free port; the system one is not needed.
  (systemctl disable --now redis-server 2>/dev/null || service redis-server stop 2>/dev/null) || true
fi
redis-server --version
