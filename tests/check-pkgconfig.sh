#!/bin/sh
# check-pkgconfig.sh STAGE PKGCONFIGDIR LIBDIR CLIENT_SOURCE VERSION
#
# STAGE holds a `make install DESTDIR=STAGE` of this build; PKGCONFIGDIR and
# LIBDIR are the configured install directories (without STAGE).  A client
# program is built with nothing but what `pkg-config bcast` says, against
# that staged tree only (PKG_CONFIG_LIBDIR + PKG_CONFIG_SYSROOT_DIR, so an
# installed system copy cannot stand in), then run:
#  - as C, linked dynamically (it must load the staged libbcast.so);
#  - as C, linked statically with `pkg-config --static` (Libs.private);
#  - as C++, linked dynamically.
#
# Environment: CC (default cc), CXX (the C++ client is skipped without it),
# PKG_CONFIG (default pkg-config), SAN_CFLAGS (sanitizer flags the library
# was built with; the static link is skipped then).
# SPDX-License-Identifier: MIT
set -eu

stage=$1 pcdir=$2 libdir=$3 client=$4 version=$5
CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
SAN_CFLAGS=${SAN_CFLAGS:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bcast-pkgconfig.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
die() {
    echo "check-pkgconfig: $*" >&2
    exit 1
}

[ -f "$stage$pcdir/bcast.pc" ] || die "$stage$pcdir/bcast.pc was not installed"
unset PKG_CONFIG_PATH
PKG_CONFIG_LIBDIR=$stage$pcdir
PKG_CONFIG_SYSROOT_DIR=$stage
# keep -I/usr/include and -L/usr/lib: under the sysroot they are the stage
PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1
PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
export PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_ALLOW_SYSTEM_CFLAGS \
    PKG_CONFIG_ALLOW_SYSTEM_LIBS

got=$($PKG_CONFIG --modversion bcast) || die "pkg-config cannot read bcast.pc"
[ "$got" = "$version" ] || die "bcast.pc says version $got, the package is $version"
cflags=$($PKG_CONFIG --cflags bcast)
libs=$($PKG_CONFIG --libs bcast)
static_libs=$($PKG_CONFIG --static --libs bcast)
case " $cflags " in *" -I$stage"*) ;; *) die "--cflags '$cflags' does not point into the stage" ;; esac
case " $libs " in *" -L$stage"*) ;; *) die "--libs '$libs' does not point into the stage" ;; esac

run() {
    # run a client against the staged library only
    LD_LIBRARY_PATH=$stage$libdir "$@" "$version" "$tmp" ||
        die "$1 failed (built with: $how)"
}
needs_staged_so() {
    "${READELF:-readelf}" -d "$1" | grep -q 'NEEDED.*libbcast\.so' ||
        die "$1 does not link libbcast.so dynamically"
    # ldd, or for a client of another architecture (a cross build run
    # through binfmt_misc, which the build machine's ldd does not know)
    # its own dynamic loader's listing, which is what ldd prints
    if command -v ldd >/dev/null 2>&1; then
        { LD_LIBRARY_PATH=$stage$libdir ldd "$1" 2>/dev/null ||
          LD_TRACE_LOADED_OBJECTS=1 LD_LIBRARY_PATH=$stage$libdir "$1"; } |
            grep 'libbcast\.so' | grep -q "=> $stage" ||
            die "$1 does not load libbcast.so from $stage"
    fi
}

# C, dynamic
how="$CC $cflags $SAN_CFLAGS pkgconfig-client.c $libs"
$CC $cflags $SAN_CFLAGS "$client" -o "$tmp/client" $libs || die "cannot build: $how"
needs_staged_so "$tmp/client"
run "$tmp/client"
done="C"

# C, static
if [ -n "$SAN_CFLAGS" ]; then
    echo "check-pkgconfig: sanitizer build; static link skipped"
else
    echo 'int main(void) { return 0; }' >"$tmp/empty.c"
    if $CC -static "$tmp/empty.c" -o "$tmp/empty" 2>/dev/null; then
        how="$CC -static $cflags pkgconfig-client.c $static_libs"
        $CC -static $cflags "$client" -o "$tmp/client-static" $static_libs ||
            die "cannot build: $how"
        if "${READELF:-readelf}" -d "$tmp/client-static" 2>/dev/null | grep -q NEEDED; then
            die "$tmp/client-static is not static"
        fi
        run "$tmp/client-static"
        done="$done, static C"
    else
        echo "check-pkgconfig: $CC cannot link static programs (no libc.a?); static link skipped"
    fi
fi

# C++, dynamic
if [ -n "${CXX:-}" ]; then
    how="$CXX -x c++ $cflags $SAN_CFLAGS pkgconfig-client.c $libs"
    $CXX -x c++ $cflags $SAN_CFLAGS "$client" -x none -o "$tmp/client-cxx" $libs ||
        die "cannot build: $how"
    needs_staged_so "$tmp/client-cxx"
    run "$tmp/client-cxx"
    done="$done, C++"
else
    echo "check-pkgconfig: no C++ compiler found; C++ client skipped"
fi

echo "check-pkgconfig: bcast.pc $version works from a staged install ($done)"
