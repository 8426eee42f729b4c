#!/bin/sh
# cross-check.sh [--no-install] [--arch-opt=OPT] ARCH [BUILDDIR]
#
# Cross-build libbcast for the Debian architecture ARCH (arm64, armhf, i386,
# ppc64el, s390x, riscv64, ...) and run `make check` there under qemu-user.
#
#  1. Installs what is missing (apt-get, with sudo when not root; skipped
#     with --no-install): crossbuild-essential-ARCH, check:ARCH and
#     pkgconf:ARCH (after `dpkg --add-architecture ARCH`), qemu-user-static.
#     Installed packages are reused.
#  2. Configures out of tree in BUILDDIR (default _build/cross-ARCH in the
#     current directory) with --host=<GNU triplet of ARCH> and builds.  A
#     source tree configured in place cannot be built out of tree, so one
#     is first copied with `make distdir` into BUILDDIR/src.
#  3. Runs `make check` with the test programs executed by
#     qemu-<cpu>-static through binfmt_misc.  The machine need not have
#     binfmt_misc set up (nor may this script change it): where it has no
#     entry for ARCH, the check runs in a new user and mount namespace with
#     a binfmt_misc instance of its own (Linux 6.7 or later), uids and gids
#     mapped one to one when run as root, so the tests that switch to
#     `nobody` still do.  The dynamic loader and libraries of ARCH come
#     from the multiarch packages (/lib/<triplet>), as on a real ARCH host,
#     or where there is no libc6:ARCH from /usr/<triplet> (QEMU_LD_PREFIX).
#
# Where the release has no check:ARCH (riscv64 before Debian 13), build
# Check for ARCH into a prefix and point the script at it:
#   PKG_CONFIG=pkg-config PKG_CONFIG_LIBDIR=PREFIX/lib/pkgconfig \
#       tools/cross-check.sh --no-install riscv64
#
# --arch-opt passes one more option to configure (--with-arch=generic, ...).
# Exit status: that of `make check` (0 all passed), 2 for a setup failure.
# SPDX-License-Identifier: MIT
set -eu

usage() {
    echo "usage: $0 [--no-install] [--arch-opt=OPT] ARCH [BUILDDIR]" >&2
    exit 2
}
die() {
    echo "cross-check: $*" >&2
    exit 2
}

install=yes
arch_opt=
while [ $# -gt 0 ]; do
    case $1 in
    --no-install) install=no ;;
    --arch-opt=*) arch_opt=${1#--arch-opt=} ;;
    -h | --help) usage ;;
    -*) usage ;;
    *) break ;;
    esac
    shift
done
[ $# -ge 1 ] && [ $# -le 2 ] || usage
arch=$1
builddir=${2:-_build/cross-$arch}
srcdir=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-2}

# the GNU triplet, the qemu-user CPU name and the ELF e_machine (16 bits,
# little- or big-endian as the CPU) of each architecture
case $arch in
arm64) triplet=aarch64-linux-gnu cpu=aarch64 ;;
armhf) triplet=arm-linux-gnueabihf cpu=arm ;;
armel) triplet=arm-linux-gnueabi cpu=arm ;;
i386) triplet=i686-linux-gnu cpu=i386 ;;
ppc64el) triplet=powerpc64le-linux-gnu cpu=ppc64le ;;
ppc64) triplet=powerpc64-linux-gnu cpu=ppc64 ;;
s390x) triplet=s390x-linux-gnu cpu=s390x ;;
riscv64) triplet=riscv64-linux-gnu cpu=riscv64 ;;
mips64el) triplet=mips64el-linux-gnuabi64 cpu=mips64el ;;
loong64) triplet=loongarch64-linux-gnu cpu=loongarch64 ;;
*) die "unknown architecture '$arch' (arm64, armhf, i386, ppc64el, s390x, riscv64, ...)" ;;
esac
multiarch=$triplet
[ "$arch" = i386 ] && multiarch=i386-linux-gnu

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

# --- 1. packages --------------------------------------------------------------
installed() {
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}
if [ "$install" = yes ]; then
    need=
    for p in "crossbuild-essential-$arch" "check:$arch" "pkgconf:$arch" qemu-user-static; do
        installed "$p" || need="$need $p"
    done
    if [ -n "$need" ]; then
        echo "=== cross-check $arch: installing$need"
        if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
            $SUDO dpkg --add-architecture "$arch"
        fi
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get update -qq
        # shellcheck disable=SC2086
        $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null ||
            die "cannot install$need (is $arch in this release's archive?)"
    fi
fi
command -v "$triplet-gcc" >/dev/null 2>&1 || die "$triplet-gcc not found (crossbuild-essential-$arch)"
qemu=$(command -v "qemu-$cpu-static" 2>/dev/null) || die "qemu-$cpu-static not found (qemu-user-static)"
# Check for ARCH: check:ARCH, or where the release has none (riscv64 before
# Debian 13) one built for ARCH, found through PKG_CONFIG/PKG_CONFIG_LIBDIR
pkg_config=${PKG_CONFIG:-$triplet-pkg-config}
"$pkg_config" --exists check 2>/dev/null ||
    die "$pkg_config finds no check.pc for $arch (install check:$arch, or set PKG_CONFIG and PKG_CONFIG_LIBDIR)"
# the ELF interpreter and libc of ARCH: from the multiarch libc6:ARCH, else
# from the cross toolchain's copy (qemu looks there first)
if [ ! -e "/usr/lib/$multiarch/libc.so.6" ] && [ ! -e "/lib/$multiarch/libc.so.6" ]; then
    [ -e "/usr/$triplet/lib/libc.so.6" ] || die "no libc for $arch (libc6:$arch)"
    QEMU_LD_PREFIX=/usr/$triplet
    export QEMU_LD_PREFIX
fi

# --- 2. configure and build ---------------------------------------------------
mkdir -p "$builddir"
builddir=$(cd "$builddir" && pwd)
if [ -f "$srcdir/config.status" ]; then
    echo "=== cross-check $arch: $srcdir is configured in place; copying it (make distdir)"
    rm -rf "$builddir/src"
    make -s -C "$srcdir" distdir distdir="$builddir/src" >/dev/null
    srcdir=$builddir/src
elif [ ! -x "$srcdir/configure" ]; then
    (cd "$srcdir" && autoreconf -fi)
fi
obj=$builddir/build
mkdir -p "$obj"
cd "$obj"
echo "=== cross-check $arch: configure --host=$triplet $arch_opt in $obj"
# shellcheck disable=SC2086
"$srcdir/configure" --host="$triplet" $arch_opt >configure.log 2>&1 ||
    { tail -n 20 configure.log >&2; die "configure failed (see $obj/configure.log)"; }
sed -n '/^  libbcast /,$p' configure.log
start=$(date +%s)
make -j"$jobs" >make.log 2>&1 || { tail -n 30 make.log >&2; die "build failed (see $obj/make.log)"; }
echo "=== cross-check $arch: built in $(($(date +%s) - start)) s"

# --- 3. make check under qemu --------------------------------------------------
# ELF header through e_machine: class (32/64-bit), data (byte order), version,
# then e_type (mask 0xfffe: executables and shared objects) and e_machine
elfclass=$(od -An -j4 -N1 -tx1 src/.libs/libbcast.so.0 | tr -d ' ')
elfdata=$(od -An -j5 -N1 -tx1 src/.libs/libbcast.so.0 | tr -d ' ')
mach=$(od -An -j18 -N2 -tx1 src/.libs/libbcast.so.0 | tr -d ' \n')
case $elfdata in
01) etype='\x02\x00' tmask='\xfe\xff' ;;
02) etype='\x00\x02' tmask='\xff\xfe' ;;
*) die "src/.libs/libbcast.so.0 is not an ELF file" ;;
esac
machine="\\x$(echo "$mach" | cut -c1-2)\\x$(echo "$mach" | cut -c3-4)"
magic="\\x7fELF\\x$elfclass\\x$elfdata\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00$etype$machine"
mask="\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff$tmask\\xff\\xff"

# The check itself: the C++ client of check-pkgconfig is built with the
# cross g++; Check's per-test timeouts are stretched for emulation.
check_cmd="env CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10} make -j$jobs check CXX=$triplet-g++"

host_binfmt=no
for f in /proc/sys/fs/binfmt_misc/*; do
    [ -f "$f" ] && grep -q "^interpreter .*qemu-$cpu" "$f" 2>/dev/null &&
        grep -qx enabled "$f" && host_binfmt=yes
done

start=$(date +%s)
if [ "$host_binfmt" = yes ]; then
    echo "=== cross-check $arch: make check (qemu-$cpu through the machine's binfmt_misc)"
    set +e
    $check_cmd >check.log 2>&1
    status=$?
    set -e
else
    echo "=== cross-check $arch: make check (qemu-$cpu through a private binfmt_misc)"
    command -v unshare >/dev/null 2>&1 || die "unshare (util-linux) not found"
    sync_dir=$(mktemp -d "${TMPDIR:-/tmp}/bcast-cross.XXXXXX")
    mkfifo "$sync_dir/up" "$sync_dir/go"
    # the child waits until its maps are written, then mounts its own
    # binfmt_misc, registers qemu (F: opened now, found in any mount
    # namespace) and runs the check
    # shellcheck disable=SC2016
    unshare --user --mount sh -c '
        echo up >"$1/up"; read -r _ <"$1/go"
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || exit 125
        printf ":bcast-cross:M::%s:%s:%s:F\n" "$2" "$3" "$4" \
            >/proc/sys/fs/binfmt_misc/register || exit 125
        shift 4
        exec "$@"' sh "$sync_dir" "$magic" "$mask" "$qemu" \
        sh -c "$check_cmd >check.log 2>&1" &
    child=$!
    read -r _ <"$sync_dir/up"
    if [ "$(id -u)" = 0 ]; then
        # root maps every uid and gid to itself
        echo "0 0 4294967295" >"/proc/$child/uid_map"
        echo "0 0 4294967295" >"/proc/$child/gid_map"
    else
        # a user maps only itself, to root inside (no tests as nobody)
        echo deny >"/proc/$child/setgroups"
        echo "0 $(id -u) 1" >"/proc/$child/uid_map"
        echo "0 $(id -g) 1" >"/proc/$child/gid_map"
    fi
    echo go >"$sync_dir/go"
    rm -rf "$sync_dir"
    set +e
    wait "$child"
    status=$?
    set -e
    [ "$status" != 125 ] ||
        die "cannot mount a private binfmt_misc (needs Linux 6.7+ and user namespaces)"
fi
secs=$(($(date +%s) - start))

# the counts: Automake's summary and each Check suite's own line
grep -E '^(PASS|FAIL|SKIP|ERROR|XFAIL|XPASS): ' check.log || true
grep -E '^# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR):' check.log || true
cases=$(cat tests/*.log 2>/dev/null | sed -n 's/^[0-9]*%: Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' |
        awk '{ c += $1; f += $2; e += $3 } END { printf "%d Check cases, %d failed, %d errors", c, f, e }')
echo "=== cross-check $arch: $cases; check-local:"
grep -E '^check-[a-z-]*: ' check.log || true
echo "=== cross-check $arch: make check $( [ "$status" = 0 ] && echo passed || echo "FAILED ($status)") in $secs s (log: $obj/check.log)"
exit "$status"
