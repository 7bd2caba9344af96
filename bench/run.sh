#!/usr/bin/env bash
# run.sh runs the public benchmark and writes RESULTS.md and ratios.svg.
#
#   ./run.sh                       # the full run, about 22 minutes on 2 cores
#                                  # (longer if it has to wait for a quiet machine)
#   QUICK=1 ./run.sh               # a quick look (ROUNDS=2, 200ms, 2,000 requests)
#
# Steps: TestContenders (every contender accepts the good token and rejects
# the bad ones, else nothing is timed); ROUNDS rounds of BenchmarkValidate,
# BenchmarkCachedHit and BenchmarkMiddleware with -cpu 1 and of
# BenchmarkValidateParallel with -cpu 1,2 (rounds of -count 1 rather than
# one -count ROUNDS, so that a noisy neighbour hurts every contender alike;
# benchstat reads them as ROUNDS samples); BenchmarkWholeRequest (each
# library's middleware over loopback HTTP, WR_N requests, WR_COUNT samples,
# -cpu 1,2); the root module's cost curves (BenchmarkCurve*) and hot-path
# features (DPoP, observer, introspection cache); BenchmarkMemory; CPU
# profiles of the floor and oidcauth; benchstat; the report (RESULTS.md,
# ratios.svg, requests.svg). Raw output stays in results/.
set -euo pipefail
cd "$(dirname "$0")"

if [ "${QUICK:-}" = 1 ]; then
	# A quick look (about 3 minutes): fewer and shorter samples everywhere.
	: "${ROUNDS:=2}" "${BENCHTIME:=200ms}" "${PROFILETIME:=1s}" "${WR_N:=2000}" "${WR_COUNT:=1}" "${CURVE_COUNT:=1}"
fi
ROUNDS=${ROUNDS:-6}
BENCHTIME=${BENCHTIME:-1s}
PROFILETIME=${PROFILETIME:-10s}
WR_N=${WR_N:-20000}        # requests per whole-request sample
WR_COUNT=${WR_COUNT:-3}    # whole-request samples per service and core count
CURVE_COUNT=${CURVE_COUNT:-3}
IDLE_CORES=${IDLE_CORES:-0.3} # see wait_idle
MAX_WAIT=${MAX_WAIT:-120}     # seconds per round
# benchstat from golang.org/x/perf; this version needs go 1.25.
BENCHSTAT_VERSION=${BENCHSTAT_VERSION:-v0.0.0-20260709024250-82a0b07e230d}
OUT=results

started=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$OUT"

# measured PHASE CMD... runs CMD and appends to $tmp/others-PHASE how many
# cores other processes kept busy meanwhile: the machine's busy time from
# /proc/stat less CMD's own user+system time, over the elapsed time. On a
# shared machine this says whether the two-core figures mean anything.
hz=$(getconf CLK_TCK)
busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
measured() {
	local phase=$1 j0 j1 t0 t1
	shift
	j0=$(busy_jiffies)
	t0=$(date +%s.%N)
	{ TIMEFORMAT='%U %S'; time "$@" 2>&3; } 3>&2 2>"$tmp/time"
	t1=$(date +%s.%N)
	j1=$(busy_jiffies)
	read -r u s <"$tmp/time"
	awk -v j="$((j1 - j0))" -v hz="$hz" -v u="$u" -v s="$s" -v t0="$t0" -v t1="$t1" \
		'BEGIN { o = (j / hz - u - s) / (t1 - t0); if (o < 0) o = 0; printf "%.2f\n", o }' >>"$tmp/others-$phase"
}
# wait_idle waits (at most MAX_WAIT seconds) until other processes keep
# fewer than IDLE_CORES cores busy over two seconds, so that rounds run when
# the machine is quiet rather than during someone else's build or fuzzer.
wait_idle() {
	local waited=0 j0 j1
	while :; do
		j0=$(busy_jiffies)
		sleep 2
		j1=$(busy_jiffies)
		if awk -v j="$((j1 - j0))" -v hz="$hz" -v max="$IDLE_CORES" 'BEGIN { exit !(j / hz / 2 < max) }'; then
			break
		fi
		waited=$((waited + 2))
		if [ "$waited" -ge "$MAX_WAIT" ]; then
			echo "   (machine still busy after ${MAX_WAIT}s; going on)"
			break
		fi
	done
	echo "$waited" >>"$tmp/waited"
}
mean() { awk '{ s += $1; n++ } END { if (n) printf "%.2f", s / n; else print "?" }' "$1"; }

echo "== benchstat $BENCHSTAT_VERSION"
GOBIN="$tmp" go install "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"

# Which oidcauth is measured: the parent module (replace => ../).
library=${LIBRARY_REV:-}
if [ -z "$library" ] && rev=$(git -C .. rev-parse --short HEAD 2>/dev/null); then
	library="commit $rev"
	if [ -n "$(git -C .. status --porcelain -- . ':!bench' 2>/dev/null)" ]; then
		library="$library with uncommitted changes"
	fi
fi

{
	echo "go: $(go version | sed 's/^go version //')"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "cores: $(nproc)"
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "load-start: $load_start"
	echo "library: ${library:-unknown}"
	echo "rounds: $ROUNDS"
	echo "benchtime: $BENCHTIME"
} >"$OUT/machine.txt"

echo "== vet and TestContenders"
go vet ./...
go test -count=1 -run '^TestContenders$' .

echo "== building the benchmark binary"
go test -c -o "$tmp/bench.test" .

: >"$OUT/validate.txt"
: >"$OUT/parallel.txt"
one_core() {
	"$tmp/bench.test" -test.run '^$' -test.bench '^Benchmark(Validate|CachedHit|Middleware)$' \
		-test.benchmem -test.benchtime "$BENCHTIME" -test.cpu 1 | tee -a "$OUT/validate.txt" | grep -E '^(Benchmark|FAIL|---)' || true
}
two_cores() {
	"$tmp/bench.test" -test.run '^$' -test.bench '^BenchmarkValidateParallel$' \
		-test.benchmem -test.benchtime "$BENCHTIME" -test.cpu 1,2 | tee -a "$OUT/parallel.txt" | grep -E '^(Benchmark|FAIL|---)' || true
}
for i in $(seq "$ROUNDS"); do
	wait_idle
	echo "== round $i/$ROUNDS: one core"
	measured serial one_core
	wait_idle
	echo "== round $i/$ROUNDS: RunParallel, -cpu 1,2"
	measured parallel two_cores
done
if grep -q '^--- FAIL\|^FAIL' "$OUT/validate.txt" "$OUT/parallel.txt"; then
	echo "a benchmark failed" >&2
	exit 1
fi

echo "== whole request: $WR_N requests x $WR_COUNT, -cpu 1,2"
: >"$OUT/wholerequest.txt"
whole_request() {
	"$tmp/bench.test" -test.run '^$' -test.bench '^BenchmarkWholeRequest$' -test.benchmem \
		-test.benchtime "${WR_N}x" -test.cpu 1,2 | tee -a "$OUT/wholerequest.txt" | grep -E '^(Benchmark|FAIL|---)' || true
}
for i in $(seq "$WR_COUNT"); do
	wait_idle
	echo "== whole request $i/$WR_COUNT"
	measured wholerequest whole_request
done
if grep -q '^--- FAIL\|^FAIL' "$OUT/wholerequest.txt" || ! grep -q '^BenchmarkWholeRequest' "$OUT/wholerequest.txt"; then
	echo "the whole-request benchmark failed" >&2
	exit 1
fi

# The cost curves and the hot-path features are benchmarks of the root
# module (the library itself), one core.
echo "== cost curves (root module), -count $CURVE_COUNT"
wait_idle
(cd .. && go test -run '^$' -bench '^BenchmarkCurve' -benchmem -benchtime "$BENCHTIME" -count "$CURVE_COUNT" -cpu 1 .) |
	tee "$OUT/curves.txt" | grep -E '^(Benchmark|FAIL|---)' || true
if grep -q '^--- FAIL\|^FAIL' "$OUT/curves.txt" || ! grep -q '^BenchmarkCurve' "$OUT/curves.txt"; then
	echo "the cost curves failed" >&2
	exit 1
fi
echo "== hot-path features (root module), -count $ROUNDS"
wait_idle
(cd .. && go test -run '^$' -bench '^Benchmark(DPoP|DPoPBaseline|Observer|IntrospectionCacheHit)$' -benchmem \
	-benchtime "$BENCHTIME" -count "$ROUNDS" -cpu 1 .) | tee "$OUT/features.txt" | grep -E '^(Benchmark|FAIL|---)' || true
if grep -q '^--- FAIL\|^FAIL' "$OUT/features.txt" || ! grep -q '^BenchmarkDPoP' "$OUT/features.txt"; then
	echo "the feature benchmarks failed" >&2
	exit 1
fi

echo "== memory"
"$tmp/bench.test" -test.run '^$' -test.bench '^BenchmarkMemory$' -test.benchtime 1x -test.count 3 -test.cpu 1 | tee "$OUT/memory.txt" | grep -E '^Benchmark'

echo "== CPU profiles"
for alg in RS256 ES256 EdDSA; do
	for c in floor oidcauth; do
		wait_idle
		"$tmp/bench.test" -test.run '^$' -test.bench "^BenchmarkValidate\$/^$alg\$/^$c\$" -test.benchtime "$PROFILETIME" \
			-test.cpu 1 -test.cpuprofile "$tmp/cpu.prof" | grep -E '^Benchmark'
		# Only samples under the validating closure (not the suite's set-up).
		go tool pprof -top -unit=ms -nodecount=100000 -nodefraction=0 -edgefraction=0 \
			-focus='setup\w+\.func' "$tmp/bench.test" "$tmp/cpu.prof" >"$OUT/profile-$alg-$c.txt" 2>/dev/null
	done
done

{
	echo "load-end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "others-serial: $(mean "$tmp/others-serial")"
	echo "others-parallel: $(mean "$tmp/others-parallel")"
	echo "others-parallel-max: $(sort -n "$tmp/others-parallel" | tail -1)"
	echo "others-wholerequest: $(mean "$tmp/others-wholerequest")"
	echo "waited-idle: $(awk '{ s += $1 } END { print s + 0 }' "$tmp/waited") s"
	echo "wr-requests: $WR_N"
	echo "wr-count: $WR_COUNT"
	echo "curve-count: $CURVE_COUNT"
	echo "feature-count: $ROUNDS"
} >>"$OUT/machine.txt"

echo "== benchstat"
"$tmp/benchstat" "$OUT/validate.txt" >"$OUT/benchstat.txt"
"$tmp/benchstat" -col /gomaxprocs "$OUT/parallel.txt" >>"$OUT/benchstat.txt"
cat "$OUT/benchstat.txt"

echo "== report"
echo "duration: $(($(date +%s) - started)) s (before the report)" >>"$OUT/machine.txt"
go run ./cmd/report -dir "$OUT" -md RESULTS.md -svg ratios.svg -requests-svg requests.svg
echo "== done in $(( $(date +%s) - started )) s"
