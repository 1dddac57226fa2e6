#!/bin/sh
# pcre-bench.sh — msys.pcre's searches beside PCRE2's own: builds
# modules/pcre/cbench/shapes.c against Debian's libpcre2-8, runs it and
# BenchmarkShapes, and prints each shape's time in both with the ratio
# (luamilter ÷ PCRE2, best of COUNT runs each; default 3).
set -eu
cd "$(dirname "$0")/.."
. scripts/ensure-go.sh
COUNT=${COUNT:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -o "$tmp/shapes" modules/pcre/cbench/shapes.c -lpcre2-8
best() { awk '{ if (!($1 in b) || $2 < b[$1]) b[$1] = $2 } END { for (k in b) print k, b[k] }' | sort; }
go test -run X -bench Shapes -count "$COUNT" ./modules/pcre/ |
	awk '/^BenchmarkShapes/ { sub(/^BenchmarkShapes\//, "", $1); sub(/-[0-9]+$/, "", $1); print $1, $3 }' | best >"$tmp/ours"
for i in $(seq "$COUNT"); do "$tmp/shapes"; done | awk '{ print $1, $2 }' | best >"$tmp/c"
printf '%-34s %14s %14s %7s\n' shape "luamilter ns" "PCRE2 ns" ratio
join "$tmp/ours" "$tmp/c" | awk '{ printf "%-34s %14.0f %14.0f %7.2f\n", $1, $2, $3, $2 / $3 }'
