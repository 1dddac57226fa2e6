#!/usr/bin/env bash
# run.sh - luamilter running examples/reference-policy.lua against the same
# policy written in plain Go on go-milter ("Go floor", and the "lean floor"
# that asks the MTA only for what the policy needs), and
# examples/content-scan.lua after it (the same plus a body scan) against its plain-Go
# twin, measured with the milterload generator on loopback TCP. See README.md.
#
#   bench/run.sh                       # build, full matrix (about 10 minutes), summary
#   REPS=1 COMBOS="c8-4k" bench/run.sh # a quick look
#   bench/run.sh summary DIR           # print the tables of an earlier run again
#
# Environment:
#   PERF_DIR   the milterload kit (milterload/ and milters/go/); default ../shared/perf next to the repo
#   BUILD_DIR  where binaries go (default ${TMPDIR:-/tmp}/luamilter-bench/bin); never inside the repo
#   OUT        results directory (default ${TMPDIR:-/tmp}/luamilter-bench/results/<stamp>)
#   REPS DUR WARM   repetitions (3), measured time (5s) and warmup (1s) per run
#   MILTERS    go go-lean lua lua-all go-content lua-content
#              go = gopolicy (every event), go-lean = gopolicy -lean, lua = negotiation by need
#              (the default), lua-all = --negotiate all; go-content = gopolicy -lean -content,
#              lua-content = luamilter with examples/reference-policy.lua and content-scan.lua
#   COMBOS     c1-4k c8-4k c64-4k c1-256k c8-256k c64-256k
#   CONTENT_COMBOS  the combos the *-content milters run (c1-256k c8-256k c64-256k), if in COMBOS
#   SESSIONS   concurrent sessions of the RSS run (200; 0 skips it)
#   HOG        busy loops beside a second, loaded RSS run (sessions-hog; default
#              the number of cores; 0 skips it), as a machine doing other work
#   NICE       niceness of milters and generator (0; negative needs root)
#   LUA_FLAGS  extra flags for `luamilter serve`
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PERF_DIR=${PERF_DIR:-$REPO/../shared/perf}
BUILD_DIR=${BUILD_DIR:-${TMPDIR:-/tmp}/luamilter-bench/bin}
OUT=${OUT:-${TMPDIR:-/tmp}/luamilter-bench/results/$(date +%Y%m%d-%H%M%S)}
REPS=${REPS:-3}
DUR=${DUR:-5s}
WARM=${WARM:-1s}
MILTERS=${MILTERS:-"go go-lean lua lua-all go-content lua-content"}
COMBOS=${COMBOS:-"c1-4k c8-4k c64-4k c1-256k c8-256k c64-256k"}
CONTENT_COMBOS=${CONTENT_COMBOS:-"c1-256k c8-256k c64-256k"}
SESSIONS=${SESSIONS:-200}
HOG=${HOG:-$(nproc)}
NICE=${NICE:-0}
LUA_FLAGS=${LUA_FLAGS:-}
PORT=${PORT:-8960}
POLICY=$REPO/examples/reference-policy.lua
CONTENT_SCAN=$REPO/examples/content-scan.lua

die() { echo "run.sh: $*" >&2; exit 1; }

build() {
	case $BUILD_DIR/ in "$REPO"/*) die "BUILD_DIR must be outside the repository" ;; esac
	[ -d "$PERF_DIR/milterload" ] && [ -d "$PERF_DIR/milters/go" ] ||
		die "no milterload kit in $PERF_DIR (set PERF_DIR)"
	mkdir -p "$BUILD_DIR"
	(cd "$PERF_DIR/milterload" && go build -o "$BUILD_DIR/milterload" .)
	(cd "$PERF_DIR/milters/go" && go build -o "$BUILD_DIR/gopolicy" .)
	(cd "$REPO" && go build -o "$BUILD_DIR/luamilter" ./cmd/luamilter && go build -o "$BUILD_DIR/benchsum" ./bench/benchsum)
}

combo_args() {
	case $1 in
	c1-4k) echo "-c 1 -body 4096" ;;
	c8-4k) echo "-c 8 -body 4096" ;;
	c64-4k) echo "-c 64 -body 4096" ;;
	c1-256k) echo "-c 1 -body 262144" ;;
	c8-256k) echo "-c 8 -body 262144" ;;
	c64-256k) echo "-c 64 -body 262144" ;;
	sessions | sessions-hog) echo "-c $SESSIONS -body 4096" ;;
	*) die "unknown combo $1" ;;
	esac
}

MILTER_PID=
start_milter() {
	local name=$1 cmd
	case $name in
	go) cmd=("$BUILD_DIR/gopolicy" -addr "127.0.0.1:$PORT") ;;
	go-lean) cmd=("$BUILD_DIR/gopolicy" -lean -addr "127.0.0.1:$PORT") ;;
	go-content) cmd=("$BUILD_DIR/gopolicy" -lean -content -addr "127.0.0.1:$PORT") ;;
	lua | lua-all | lua-content)
		local neg=need scripts=(-s "$POLICY")
		[ "$name" = lua-all ] && neg=all
		[ "$name" = lua-content ] && scripts+=(-s "$CONTENT_SCAN")
		# --log-level warn: the Go floor logs nothing per message either.
		# shellcheck disable=SC2206
		cmd=("$BUILD_DIR/luamilter" serve --control-socket none --log-level warn
			--negotiate "$neg" "${scripts[@]}" -l "inet:127.0.0.1:$PORT" $LUA_FLAGS) ;;
	*) die "unknown milter $name" ;;
	esac
	if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then die "port $PORT is already in use"; fi
	# nice execs the milter, so $! is the milter's own PID.
	nice -n "$NICE" "${cmd[@]}" >>"$OUT/$name.log" 2>&1 &
	MILTER_PID=$!
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
		kill -0 "$MILTER_PID" 2>/dev/null || die "$name did not start (see $OUT/$name.log)"
		sleep 0.05
	done
	die "$name is not listening on $PORT"
}

stop_milter() {
	kill "$MILTER_PID" 2>/dev/null || true
	wait "$MILTER_PID" 2>/dev/null || true
}

# measure MILTER COMBO REP
measure() {
	local name=$1 combo=$2 rep=$3 dur=$DUR
	[[ $combo == sessions* ]] && dur=3s
	start_milter "$name"
	# shellcheck disable=SC2046
	nice -n "$NICE" "$BUILD_DIR/milterload" -addr "127.0.0.1:$PORT" -d "$dur" -warmup "$WARM" -rcpts 2 \
		$(combo_args "$combo") -check -pid "$MILTER_PID" -label "$name $combo $rep" \
		-json "$OUT/$name.$combo.r$rep.json" >"$OUT/$name.$combo.r$rep.txt" 2>&1 ||
		echo "run.sh: $name $combo rep $rep failed (see $OUT/$name.$combo.r$rep.txt)" >&2
	stop_milter
	printf '%-11s %-9s rep %s: %s\n' "$name" "$combo" "$rep" \
		"$(grep -m1 '^transactions' "$OUT/$name.$combo.r$rep.txt" || echo failed)"
}

# runs MILTER COMBO: whether the matrix includes that pair. The content
# milters only run the CONTENT_COMBOS (a body scan is about large bodies)
# and not the sessions run.
runs() {
	case $1 in
	*-content) [[ $2 != sessions* ]] && [[ " $CONTENT_COMBOS " == *" $2 "* ]] ;;
	*) true ;;
	esac
}

run() {
	mkdir -p "$OUT"
	{ echo "start: $(date -u)"; uptime; nproc; } >"$OUT/machine.txt"
	echo "results: $OUT"
	for rep in $(seq "$REPS"); do
		for combo in $COMBOS; do
			for m in $MILTERS; do
				if runs "$m" "$combo"; then measure "$m" "$combo" "$rep"; fi
			done
		done
	done
	if [ "$SESSIONS" -gt 0 ]; then
		for m in $MILTERS; do
			if runs "$m" sessions; then measure "$m" sessions 1; fi
		done
		if [ "$HOG" -gt 0 ]; then
			local hogs=()
			for _ in $(seq "$HOG"); do
				(while :; do :; done) &
				hogs+=($!)
			done
			for m in $MILTERS; do
				if runs "$m" sessions-hog; then measure "$m" sessions-hog 1; fi
			done
			kill "${hogs[@]}" 2>/dev/null || true
			wait "${hogs[@]}" 2>/dev/null || true
		fi
	fi
	{ echo "end: $(date -u)"; uptime; } >>"$OUT/machine.txt"
}

case ${1:-all} in
build) build ;;
summary) "$BUILD_DIR/benchsum" "${2:?results directory}" ;;
all)
	build
	run
	cat "$OUT/machine.txt"
	"$BUILD_DIR/benchsum" "$OUT" | tee "$OUT/summary.md"
	;;
*) die "usage: run.sh [all|build|summary DIR]" ;;
esac
