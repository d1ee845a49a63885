#!/usr/bin/env bash
# PostgreSQL's own ceiling for small durable transactions on this machine: pgbench's TPC-B
# (`pgbench -i -s 10`, then `pgbench -c 8 -j 2 -T 20`) with fsync and synchronous_commit on,
# the figure the postgres engine's enrollments/s is set beside (issue 16, "Performance").
#
#   bash benches/pg_baseline.sh              # a throwaway cluster of its own, removed after
#   bash benches/pg_baseline.sh URL          # an existing database (pgbench -i rewrites its
#                                            # pgbench_* tables), e.g. the cluster a load run uses
#
# Environment: CLIENTS (8), THREADS (2), DURATION in seconds (20), SCALE (10). Needs PostgreSQL's server
# package (Debian: apt-get install postgresql); as root the server runs as the postgres user.
# Prints pgbench's report, then one line: `pgbench tps: N`.
set -euo pipefail
clients=${CLIENTS:-8} threads=${THREADS:-2} duration=${DURATION:-20} scale=${SCALE:-10}

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -x "$bindir/pgbench" ] || bindir=$(pg_config --bindir 2>/dev/null || true)
[ -x "$bindir/pgbench" ] || { echo "no PostgreSQL found (apt-get install postgresql)" >&2; exit 1; }

if [ $# -ge 1 ]; then
  target=("$1")
else
  dir=$(mktemp -d /tmp/issuebox-pgbench.XXXXXX)
  as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  cleanup() {
    (cd "$dir" && as_server "$bindir/pg_ctl" stop -w -m fast -D "$dir/data") >/dev/null 2>&1 || true
    rm -rf "$dir"
  }
  trap cleanup EXIT
  cd "$dir"
  as_server "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >/dev/null
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 200
shared_buffers = 128MB
EOF
  as_server "$bindir/pg_ctl" start -w -D "$dir/data" -l "$dir/server.log" >/dev/null
  "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres bench
  target=(-h 127.0.0.1 -p "$port" -U postgres bench)
fi

"$bindir/pgbench" -i -q -s "$scale" "${target[@]}" 2>&1 | tail -n 1
report=$("$bindir/pgbench" -c "$clients" -j "$threads" -T "$duration" "${target[@]}" 2>&1)
echo "$report"
echo "pgbench tps: $(echo "$report" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n 1)"
