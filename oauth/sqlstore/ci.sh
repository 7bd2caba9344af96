#!/usr/bin/env bash
# CI step for oauth/sqlstore, meant to be sourced by .ci/run before the Go
# tests (". oauth/sqlstore/ci.sh"): it installs PostgreSQL if missing,
# starts a private cluster on 127.0.0.1:65432 (initdb in a temporary
# directory, run as the unprivileged user "postgres" or "nobody" because
# initdb refuses root; trust authentication on loopback only, no
# persistence worth keeping), creates the database oidcauth_test and
# exports
#
#   OIDCAUTH_POSTGRES_DSN=postgres://USER@127.0.0.1:65432/oidcauth_test?sslmode=disable&binary_parameters=yes
#   OIDCAUTH_REQUIRE_POSTGRES=1  (the Postgres tests fail instead of skipping)
#
# Safe to run more than once: a cluster already answering is reused.
oauth_pg_port=65432
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  echo "== oauth/sqlstore/ci.sh: apt-get install postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
oauth_pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -1)")
[ -x "$oauth_pg_bin/pg_ctl" ] || oauth_pg_bin=$(dirname "$(command -v pg_ctl)")
oauth_pg_user=postgres
id -u postgres >/dev/null 2>&1 || oauth_pg_user=nobody
oauth_pg_run() { if [ "$(id -u)" = 0 ]; then runuser -u "$oauth_pg_user" -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] || oauth_pg_user=$(id -un)
if ! "$oauth_pg_bin/pg_isready" -q -h 127.0.0.1 -p "$oauth_pg_port"; then
  oauth_pg_dir=$(mktemp -d /tmp/oidcauth-pg.XXXXXX)
  chmod 700 "$oauth_pg_dir"
  [ "$(id -u)" = 0 ] && chown "$oauth_pg_user" "$oauth_pg_dir"
  echo "== oauth/sqlstore/ci.sh: initdb $oauth_pg_dir, postgres on 127.0.0.1:$oauth_pg_port as $oauth_pg_user"
  oauth_pg_run "$oauth_pg_bin/initdb" -D "$oauth_pg_dir/data" -U "$oauth_pg_user" -A trust --no-sync -E UTF8 >/dev/null
  oauth_pg_run "$oauth_pg_bin/pg_ctl" -D "$oauth_pg_dir/data" -l "$oauth_pg_dir/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $oauth_pg_port -k $oauth_pg_dir -c fsync=off -c full_page_writes=off" start >/dev/null
  # The command that stops this cluster (.ci/run runs it at the end).
  if [ "$(id -u)" = 0 ]; then oauth_pg_as="runuser -u $oauth_pg_user --"; else oauth_pg_as=""; fi
  echo "$oauth_pg_as $oauth_pg_bin/pg_ctl -D $oauth_pg_dir/data -m fast stop >/dev/null && rm -rf $oauth_pg_dir" \
    > /tmp/oidcauth-pg-$oauth_pg_port.stop
fi
if ! "$oauth_pg_bin/psql" -h 127.0.0.1 -p "$oauth_pg_port" -U "$oauth_pg_user" -d oidcauth_test -Atc 'select 1' >/dev/null 2>&1; then
  "$oauth_pg_bin/createdb" -h 127.0.0.1 -p "$oauth_pg_port" -U "$oauth_pg_user" oidcauth_test
fi
export OIDCAUTH_POSTGRES_DSN="postgres://$oauth_pg_user@127.0.0.1:$oauth_pg_port/oidcauth_test?sslmode=disable&binary_parameters=yes"
export OIDCAUTH_REQUIRE_POSTGRES=1
echo "== oauth/sqlstore/ci.sh: $("$oauth_pg_bin/postgres" --version)"
unset oauth_pg_port oauth_pg_bin oauth_pg_user oauth_pg_dir oauth_pg_as
unset -f oauth_pg_run
