#!/usr/bin/env bash
# Interop suite: oidcauth against oidc-provider (pinned in
# interop/provider/package-lock.json) on 127.0.0.1. Called by .ci/run:
#
#   bash interop/ci.sh
#
# Needs Go and Node.js (>= 18) with npm; installs the provider's packages
# from the npm registry into interop/provider/node_modules (npm ci, exactly
# the lockfile, no install scripts, nothing global), then runs the suite with
# it required.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in node npm go; do
  command -v "$tool" >/dev/null || { echo "interop: $tool is required (Node.js >= 18 with npm, and Go)" >&2; exit 1; }
done
start=$(date +%s)

echo "== interop: node $(node --version), npm $(npm --version 2>/dev/null)"
(
  cd interop/provider
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "oidc-provider $(node -p 'require("./node_modules/oidc-provider/package.json").version')"
)
# DPoP (issue 13): panva's oauth4webapi, a real DPoP client, for
# interop/dpop_test.go.
(
  cd interop/dpopclient
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "oauth4webapi $(node -p 'require("./node_modules/oauth4webapi/package.json").version')"
)
installed=$(date +%s)

echo "== interop: OIDCAUTH_INTEROP=1 go test -race -count=1 ./interop/..."
OIDCAUTH_INTEROP=1 go test -race -count=1 -timeout 5m ./interop/...
done_at=$(date +%s)

echo "== interop: npm ci $((installed - start))s, tests $((done_at - installed))s, total $((done_at - start))s"
