#!/usr/bin/env bash
# CI steps for package oauth, meant to be sourced by .ci/run before the Go
# tests (". oauth/ci.sh"): it installs and starts what the oauth tests need
# and exports the variables they read.
#
#   redis-server  started on 127.0.0.1:6390 (loopback only, no persistence);
#                 OIDCAUTH_REDIS_ADDR=127.0.0.1:6390, OIDCAUTH_REQUIRE_REDIS=1:
#                 the tests of oauth/redisstore fail instead of skipping when
#                 Redis is missing.
#   chromium      headless browser and its chromedriver (W3C WebDriver) for the
#                 walk-through of examples/webapp; OIDCAUTH_CHROMIUM,
#                 OIDCAUTH_CHROMEDRIVER, OIDCAUTH_REQUIRE_BROWSER=1: the browser
#                 test fails instead of skipping when they are missing.
#
# Without this script, plain "go test ./..." skips those tests with a
# message. Safe to run more than once.

oauth_ci_need_apt=()
command -v redis-server >/dev/null 2>&1 || oauth_ci_need_apt+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || oauth_ci_need_apt+=(redis-tools)
[ -x /usr/bin/chromium ] || oauth_ci_need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || oauth_ci_need_apt+=(chromium-driver)
if [ "${#oauth_ci_need_apt[@]}" -gt 0 ]; then
  echo "== oauth/ci.sh: apt-get install ${oauth_ci_need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${oauth_ci_need_apt[@]}" >/dev/null
fi
unset oauth_ci_need_apt

export OIDCAUTH_REDIS_ADDR=127.0.0.1:6390
export OIDCAUTH_REQUIRE_REDIS=1
if ! redis-cli -h 127.0.0.1 -p 6390 ping >/dev/null 2>&1; then
  echo "== oauth/ci.sh: starting redis-server on $OIDCAUTH_REDIS_ADDR"
  redis-server --bind 127.0.0.1 --port 6390 --daemonize yes \
    --save '' --appendonly no --protected-mode yes \
    --pidfile /tmp/oidcauth-redis-6390.pid --logfile /tmp/oidcauth-redis-6390.log
  for _ in $(seq 1 50); do
    redis-cli -h 127.0.0.1 -p 6390 ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -h 127.0.0.1 -p 6390 ping >/dev/null || { echo "redis-server did not start"; cat /tmp/oidcauth-redis-6390.log; exit 1; }
fi

export OIDCAUTH_CHROMIUM=/usr/bin/chromium
export OIDCAUTH_CHROMEDRIVER=/usr/bin/chromedriver
export OIDCAUTH_REQUIRE_BROWSER=1
echo "== oauth/ci.sh: $(redis-server --version | cut -d' ' -f1-3), $("$OIDCAUTH_CHROMIUM" --version 2>/dev/null), $("$OIDCAUTH_CHROMEDRIVER" --version 2>/dev/null | cut -d' ' -f1-2)"
