#!/bin/sh
# bridge-bench.sh BUILDDIR: bcast-bridge against raw ZeroMQ PUB/SUB in the
# same run, over tcp://127.0.0.1, 73-byte messages (make bench-bridge).
#
#   throughput: BRIDGE_BENCH_N (default 10^6) messages offered as fast as
#     the sender can: raw, a PUB process to a SUB process; bridged, a
#     writer into a source channel, bcast-bridge pub, bcast-bridge sub, a
#     reader of the far channel.  Messages per second as received at the
#     far end (first to last), and how many arrived.
#   latency: BRIDGE_BENCH_LAT (default 20000) messages at 10,000 per second;
#     p50/p99 from the send (raw) or the source channel write (bridged) to
#     the receive (raw) or the far channel read (bridged), one clock.
#     The bridged publisher runs with --spin, and again sleeping in
#     bcast_reader_wait; the far reader sleeps in bcast_reader_wait as the raw
#     SUB sleeps in recv.
#
# Each case prints one JSON line.  High-water marks are unlimited so that
# every case may deliver everything.
#
# SPDX-License-Identifier: MIT
set -u
b=${1:-.}
BRIDGE=$b/tools/bcast-bridge
CAT=$b/tools/bcast-cat
PEER=$b/tests/bridge-peer
N=${BRIDGE_BENCH_N:-1000000}
LAT=${BRIDGE_BENCH_LAT:-20000}
SIZE=73
dir=$(mktemp -d /dev/shm/bcast-bridge-bench.XXXXXX) || exit 1
pids=""
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$dir"' EXIT

port() { # a free port from the kernel, through a bound wildcard
    "$BRIDGE" pub "$dir/src0" 'tcp://127.0.0.1:*' 2>"$dir/port.err" &
    p=$!
    while ! grep -q 'bound to' "$dir/port.err" 2>/dev/null; do sleep 0.05; done
    kill "$p"
    wait "$p" 2>/dev/null
    sed -n 's/.*bound to //p' "$dir/port.err"
}

raw() { # raw N RATE
    ep=$(port)
    "$PEER" raw-sub "$ep" "$1" &
    s=$!
    "$PEER" raw-pub "$ep" "$1" $SIZE "$2"
    wait "$s"
}

bridged() { # bridged N RATE PUB-OPTIONS...
    n=$1 rate=$2
    shift 2
    rm -f "$dir/src" "$dir/src.lock" "$dir/src.wait" "$dir/far" "$dir/far.lock" "$dir/far.wait"
    "$CAT" --create 64M "$dir/src" </dev/null 2>/dev/null
    ep=$(port)
    "$BRIDGE" pub --hwm 0 "$@" "$dir/src" "$ep" 2>"$dir/pub.err" &
    p=$!
    "$BRIDGE" sub --hwm 0 --capacity 64M "$ep" "$dir/far" 2>"$dir/sub.err" &
    s=$!
    pids="$p $s"
    "$PEER" bench-far "$dir/far" "$n" &
    f=$!
    "$PEER" bench-src "$dir/src" "$n" $SIZE "$rate"
    wait "$f"
    kill "$p" "$s"
    wait "$p" "$s" 2>/dev/null
    pids=""
}

"$CAT" --create 64k "$dir/src0" </dev/null 2>/dev/null
echo "# throughput, $N messages of $SIZE bytes"
raw "$N" 0
bridged "$N" 0 --spin
echo "# latency, $LAT messages of $SIZE bytes at 10000/s"
raw "$LAT" 10000
bridged "$LAT" 10000 --spin
bridged "$LAT" 10000
