#!/usr/bin/env bash
# CI step for the gRPC end-to-end tests, meant to be sourced by .ci/run
# before the nested modules' tests (". examples/grpc/ci.sh"): it installs
# grpcurl, pinned, into a cache folder (not the user's GOBIN) and exports
#
#   OIDCAUTH_GRPCURL=<path of grpcurl>
#   OIDCAUTH_REQUIRE_GRPCURL=1   the grpcurl tests of examples/grpc fail
#                                instead of skipping when grpcurl is missing.
#
# Without this script, plain "go test ./..." in examples/grpc skips them
# with a message. Safe to run more than once; warm, it costs nothing.
GRPCURL_VERSION=v1.9.4
grpc_ci_bin="${XDG_CACHE_HOME:-$HOME/.cache}/oidcauth-ci/grpcurl-$GRPCURL_VERSION"
if [ ! -x "$grpc_ci_bin/grpcurl" ]; then
  echo "== examples/grpc/ci.sh: go install github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
  mkdir -p "$grpc_ci_bin"
  GOFLAGS= GOBIN="$grpc_ci_bin" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
fi
export OIDCAUTH_GRPCURL="$grpc_ci_bin/grpcurl"
export OIDCAUTH_REQUIRE_GRPCURL=1
unset grpc_ci_bin
