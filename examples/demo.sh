#!/bin/sh
# demo: a publisher and a subscriber process share a channel file.
#
#   examples/demo.sh [COUNT]
#
# Starts examples/sub, which waits for the channel, then examples/pub, which
# creates it in a fresh directory under /dev/shm and sends COUNT (default
# 200) timestamped ticks, one a millisecond.  sub prints each tick, how long
# it took to arrive and how far behind the writer it is, and exits 1 unless
# it got every tick in order.  The directory is removed afterwards.  `make
# check` runs this script as a test.
set -eu

count=${1:-200}

# the programs: in the build tree when run from its top (as `make check`
# does), else next to this script
if [ -x ./examples/pub ] && [ -x ./examples/sub ]; then
    bin=./examples
else
    bin=$(dirname "$0")
fi
if [ ! -x "$bin/pub" ] || [ ! -x "$bin/sub" ]; then
    echo "demo.sh: build the examples first (make)" >&2
    exit 1
fi

shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
dir=$(mktemp -d "$shm/bcast-demo-XXXXXX")
sub_pid=
cleanup() {
    if [ -n "$sub_pid" ]; then
        kill "$sub_pid" 2>/dev/null || :
        wait "$sub_pid" 2>/dev/null || :
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

channel=$dir/ticks.bcast

"$bin/sub" -n "$count" "$channel" &
sub_pid=$!

status=0
"$bin/pub" -n "$count" -i 1000 "$channel" || status=$?
if [ "$status" -ne 0 ]; then
    echo "demo.sh: pub failed ($status)" >&2
    exit "$status"
fi
wait "$sub_pid" || status=$?
sub_pid=
if [ "$status" -ne 0 ]; then
    echo "demo.sh: sub failed ($status)" >&2
fi
exit "$status"
