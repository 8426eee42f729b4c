#!/bin/sh
# Instructions per operation of bcast-bench ops, counted by callgrind:
# (instructions of N iterations - instructions of 0 iterations) / N, for the
# library and for the same loop around functions that do nothing (--harness),
# so the library's own share is the difference.
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
count() { # mode iterations [--harness]
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$real" ops --mode "$1" \
        --iterations "$2" ${3:-} >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 2; }
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/out"
}
per_iteration() { # mode [--harness]
    zero=$(count "$1" 0 ${2:-})
    full=$(count "$1" "$n" ${2:-})
    awk -v z="$zero" -v f="$full" -v n="$n" 'BEGIN { printf "%.2f", (f - z) / n }'
}
w=$(per_iteration write)
wh=$(per_iteration write --harness)
wr=$(per_iteration write+read)
wrh=$(per_iteration write+read --harness)
wm=$(per_iteration write+read-msg)
wmh=$(per_iteration write+read-msg --harness)
wn=$(per_iteration write+next)
wnh=$(per_iteration write+next --harness)
awk -v w="$w" -v wh="$wh" -v wr="$wr" -v wrh="$wrh" -v wm="$wm" -v wmh="$wmh" \
    -v wn="$wn" -v wnh="$wnh" -v n="$n" 'BEGIN {
    printf "instructions per operation, %d iterations, 32-byte messages, 64 KiB channel\n", n
    printf "%-26s %9s %9s %9s\n", "", "total", "harness", "library"
    printf "%-26s %9.2f %9.2f %9.2f\n", "send (ops write)", w, wh, w - wh
    printf "%-26s %9.2f %9.2f %9.2f\n", "receive (the rest)", wr - w, wrh - wh, (wr - w) - (wrh - wh)
    printf "%-26s %9.2f %9.2f %9.2f\n", "receive with a message", wm - w, wmh - wh, (wm - w) - (wmh - wh)
    printf "%-26s %9.2f %9.2f %9.2f\n", "next + message_read", wn - w, wnh - wh, (wn - w) - (wnh - wh)
    printf "%-26s %9.2f %9.2f %9.2f\n", "send + receive", wr, wrh, wr - wrh
}'
# messages of any size: a 1 MiB message on a 4 MiB ring, sent with
# bcast_writer_send_large and read whole with bcast_assembler_receive, per
# byte, against a plain 1 MiB memcpy (BENCH_OPS_LARGE iterations)
nl=${BENCH_OPS_LARGE:-20}
cl() { # mode
    z=$(count "$1" 0)
    f=$(count "$1" "$nl")
    awk -v z="$z" -v f="$f" -v n="$nl" 'BEGIN { printf "%.4f", (f - z) / n / 1048576 }'
}
lg=$(cl large)
ls=$(cl large-send)
mc=$(cl memcpy)
awk -v lg="$lg" -v ls="$ls" -v mc="$mc" -v n="$nl" 'BEGIN {
    printf "instructions per byte, 1 MiB messages, 4 MiB channel, %d iterations\n", n
    printf "%-38s %9.4f\n", "send_large", ls
    printf "%-38s %9.4f\n", "reassembly (assembler_receive)", lg - ls
    printf "%-38s %9.4f\n", "send_large + reassembly", lg
    printf "%-38s %9.4f\n", "memcpy of 1 MiB", mc
    printf "%-38s %9.4f\n", "reassembly over memcpy", (lg - ls) - mc
}'
