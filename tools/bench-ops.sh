#!/bin/sh
# Instructions per operation of bcast-bench ops, counted by callgrind:
# (instructions of N iterations - instructions of 0 iterations) / N.
# Usage: bench-ops.sh PATH-TO-bcast-bench [ITERATIONS]
set -eu
bench=$1
n=${2:-1000000}
command -v valgrind >/dev/null || { echo "bench-ops: valgrind is needed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the libtool wrapper script must not be counted: run the real binary
real=$bench
if [ -x "$(dirname "$bench")/.libs/$(basename "$bench")" ]; then
    real="$(dirname "$bench")/.libs/$(basename "$bench")"
    LD_LIBRARY_PATH="$(cd "$(dirname "$bench")/../src/.libs" && pwd)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
fi
count() {
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$real" ops --mode "$1" \
        --iterations "$2" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 2; }
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/out"
}
for mode in write write+read; do
    zero=$(count "$mode" 0)
    full=$(count "$mode" "$n")
    awk -v m="$mode" -v z="$zero" -v f="$full" -v n="$n" \
        'BEGIN { printf "ops %-10s %8.2f instructions per iteration (%d iterations)\n", m, (f - z) / n, n }'
done
