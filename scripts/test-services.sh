#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis on loopback for the test suite.
#   scripts/test-services.sh start DIR   -> prints the env (DATABASE_URL, REDIS_URL) to source
#   scripts/test-services.sh stop DIR
set -euo pipefail
cmd=$1; dir=$2
PGBIN=/usr/lib/postgresql/15/bin
free_port() {  # a free loopback port, so parallel runs never collide
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
PGPORT=${MADOGUCHI_TEST_PGPORT:-$(free_port)}
REDISPORT=${MADOGUCHI_TEST_REDISPORT:-$(free_port)}
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
start)
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
  as_pg "$PGBIN/initdb" -D "$dir/pg" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1
  as_pg "$PGBIN/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" \
    start >/dev/null
  "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres madoguchi
  redis-server --port "$REDISPORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
    --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  for _ in $(seq 50); do redis-cli -p "$REDISPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$PGPORT/madoguchi"
  echo "export REDIS_URL=redis://127.0.0.1:$REDISPORT/0"
  ;;
stop)
  [ -d "$dir/pg" ] && as_pg "$PGBIN/pg_ctl" -D "$dir/pg" -m immediate stop >/dev/null 2>&1 || true
  [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
