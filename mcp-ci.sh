#!/usr/bin/env bash
# MCP suite, called by .ci/run (one line): the nested modules oidcmcp and
# examples/mcp (vet, tests with -race), and the end-to-end test with the
# official MCP TypeScript SDK's client (examples/mcp/e2e, npm ci from the
# committed package-lock.json, no install scripts), made required with
# OIDCAUTH_REQUIRE_MCP_E2E=1.
set -euo pipefail
cd "$(dirname "$0")"
start=$(date +%s)
for tool in node npm go; do
  command -v "$tool" >/dev/null || { echo "mcp: $tool is required (Node.js >= 20 with npm, and Go)" >&2; exit 1; }
done
echo "== mcp: npm ci in examples/mcp/e2e (node $(node --version))"
(cd examples/mcp/e2e && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
for m in oidcmcp examples/mcp; do
  echo "== mcp: $m: gofmt, go vet, go test -race"
  (cd "$m" && test -z "$(gofmt -l .)" && go vet ./... && OIDCAUTH_REQUIRE_MCP_E2E=1 go test -race -count=1 ./... && go test -run '^$' -bench . -benchtime=1x ./...)
done
echo "== mcp: total $(( $(date +%s) - start ))s"
