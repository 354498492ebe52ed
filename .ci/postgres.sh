#!/usr/bin/env bash
# Start a throw-away PostgreSQL for the end-to-end tests; print its URL on the last line.
#   .ci/postgres.sh start DIR [PORT]   install Debian's postgresql if missing, initdb in DIR,
#                                       start it on 127.0.0.1:PORT (default 55432), trust auth
#   .ci/postgres.sh stop DIR            stop the server started in DIR
# Needs root (apt-get; the server itself runs as the postgres user). Nothing outside DIR is
# touched: no system cluster is created or started.
set -euo pipefail
action=${1:?start or stop}
dir=${2:?a data directory}
port=${3:-55432}

find_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

if [ "$action" = stop ]; then
  bin=$(find_bin)
  [ -n "$bin" ] && [ -f "$dir/data/postmaster.pid" ] &&
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  exit 0
fi

bin=$(find_bin)
if [ -z "$bin" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # Debian's package would create and start a system cluster: policy-rc.d says no.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq postgresql >/dev/null
  rm -f /usr/sbin/policy-rc.d
  bin=$(find_bin)
fi

mkdir -p "$dir"
chown postgres "$dir"
if [ ! -f "$dir/data/PG_VERSION" ]; then
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" -U postgres --auth=trust \
    --no-sync >/dev/null
fi
# fsync stays on: the durability tests rely on commits meaning what they mean in production.
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200" \
  start >/dev/null
echo "postgresql://postgres@127.0.0.1:$port/postgres"
