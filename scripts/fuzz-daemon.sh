#!/bin/sh
# fuzz-daemon.sh [DURATION] — plays raw and framed hostile milter sessions
# against a running `luamilter serve` for DURATION each (default 30m),
# then reports whether the daemon survived, its largest RSS, and any
# session slot or spool file it did not give back. Loopback only.
set -eu
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
dur=${1:-30m}
work=$(mktemp -d /tmp/luamilter-fuzz.XXXXXX)
mkdir -m 0700 "$work/spool"
go build -o "$work/luamilter" ./cmd/luamilter
"$work/luamilter" serve --script milter/testdata/fuzz-policy.lua \
	--listen "unix:$work/milter.sock" --control-socket none \
	--metrics-listen 127.0.0.1:9899 --spool-dir "$work/spool" --spool-threshold 1024 \
	--max-message-size 262144 --max-sessions 4 --read-timeout 1s --idle-timeout 2s \
	--log-level error >"$work/daemon.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -S "$work/milter.sock" ] && break; sleep 0.1; done
(
	while kill -0 $pid 2>/dev/null; do
		awk '/VmRSS/ {print $2}' /proc/$pid/status
		sleep 5
	done
) >"$work/rss.kb" 2>/dev/null &
status=0
for target in FuzzRawSession FuzzStructuredSession; do
	echo "== $target for $dur against pid $pid"
	LUAMILTER_FUZZ_SOCKET="$work/milter.sock" LUAMILTER_FUZZ_SPOOL="$work/spool" \
		LUAMILTER_FUZZ_METRICS=http://127.0.0.1:9899 \
		go test -run X -fuzz "$target" -fuzztime "$dur" -timeout 0 -parallel 1 ./milter/ || status=1
done
if kill -0 $pid 2>/dev/null; then echo "daemon alive"; else echo "DAEMON DIED"; status=1; fi
echo "sessions: $(curl -s http://127.0.0.1:9899/metrics | grep -E '^luamilter_sessions_(open|total) ' | tr '\n' ' ')"
echo "spool files left: $(ls "$work/spool" | wc -l)"
echo "RSS kB: first $(head -1 "$work/rss.kb"), max $(sort -n "$work/rss.kb" | tail -1), last $(tail -1 "$work/rss.kb")"
echo "daemon log lines: $(wc -l <"$work/daemon.log") (in $work)"
exit $status
