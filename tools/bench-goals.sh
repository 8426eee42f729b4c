#!/bin/sh
# The performance goals of libbcast, checked through the public API:
#   send     at most 29.5 library instructions per 32-byte send (callgrind,
#            harness subtracted): 27.5, and 2 for the check of sleeping readers
#   receive  at most 40 library instructions per receive into a buffer
#   receive with a message  at most 45 (how a user gets user_defined)
#   rtt      p50 at most 1.20 x the raw floor, median of 3 runs, the floor
#            measured in alternating blocks of the same run (two threads)
# The process RTT (--shm) and the 73-byte throughput are printed for the
# record; the throughput goal compares with reference implementations that
# are not part of this tree, so it is not judged here.
# (floor-ro: the floor read through read-only mappings, as readers of
# channel files map them; see bcast-bench(1).)
# Usage: bench-goals.sh PATH-TO-bcast-bench [SRCDIR]; exit 0 when every goal
# holds, 1 when one does not, 2 when a run fails.
set -eu
bench=$1
srcdir=${2:-$(dirname "$0")/..}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

verdict() { # name measured goal: prints a line, 1 if measured > goal
    if awk -v m="$2" -v g="$3" 'BEGIN { exit !(m <= g) }'; then
        printf '%-38s %10s %8s   ok\n' "$1" "$2" "<= $3"
    else
        printf '%-38s %10s %8s   MISSED\n' "$1" "$2" "<= $3"
        fail=1
    fi
}

# median of the "ratio" (or another) field of the JSON lines in $1 with case bcast
median() { # file field
    sed -n "/\"case\":\"bcast\"/s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1" | sort -n | sed -n 2p
}

sh "$srcdir/tools/bench-ops.sh" "$bench" >"$tmp/ops" || exit 2
# the library column (the last) of bench-ops.sh's table
send=$(awk '/^send \(ops write\)/ { print $NF }' "$tmp/ops")
recv=$(awk '/^receive \(the rest\)/ { print $NF }' "$tmp/ops")
recvm=$(awk '/^receive with a message/ { print $NF }' "$tmp/ops")

for i in 1 2 3; do
    "$bench" rtt --json >>"$tmp/rtt" || exit 2
    "$bench" rtt --shm --json >>"$tmp/shm" || exit 2
    "$bench" throughput --json >>"$tmp/tp" || exit 2
done

echo "libbcast performance goals ($(uname -m), $(nproc) CPUs)"
verdict "send, library instructions" "$send" 29.5
verdict "receive, library instructions" "$recv" 40
verdict "receive with a message, library instr." "$recvm" 45
verdict "rtt p50 / floor, threads (median)" "$(median "$tmp/rtt" ratio)" 1.20
echo "for the record, not judged:"
field() { # file field: the values of a JSON field, one per run
    sed -n "/\"case\":\"floor/d; s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1" | tr '\n' ' '
}
printf '%-38s %10s   (runs: %s)\n' "rtt p50 / floor, processes" "$(median "$tmp/shm" ratio)" \
    "$(field "$tmp/shm" ratio)"
printf '%-38s %10s   (runs: %s)\n' "rtt p50 / read-only floor, processes" \
    "$(median "$tmp/shm" ratio_ro)" "$(field "$tmp/shm" ratio_ro)"
printf '%-38s %10s   (runs: %s)\n' "73 B publish ns/msg, busy poll" \
    "$(field "$tmp/tp" publish_ns_per_msg | tr ' ' '\n' | sed '/^$/d' | sort -n | sed -n 2p)" \
    "$(field "$tmp/tp" publish_ns_per_msg)"
printf '%-38s %10s   (runs: %s)\n' "73 B delivery %, busy poll" "" "$(field "$tmp/tp" delivery_pct)"
exit $fail
