#!/bin/sh
# check-plugin-safety.sh SHARED_LIB STATIC_LIB
#
# Plugins dlopen and dlclose libbcast, possibly many times, possibly in
# several copies.  That is only safe if the library keeps no state of its
# own, so this checks the built objects for:
#  - constructors and destructors: no .init_array/.fini_array/.ctors/.dtors
#    in our objects, and the shared library has no more init/fini entries
#    than an empty shared library built by the same toolchain;
#  - thread-local storage: no .tdata/.tbss, no PT_TLS, no __tls_get_addr;
#  - global mutable state: no symbol of ours in .data/.bss (the objects
#    define no data, bss or common symbols at all, local ones included);
#  - threads and process-wide hooks: the library calls none of
#    pthread_create, atexit, pthread_atfork, signal, setenv, ... and never
#    prints, exits, aborts or asserts.
#
# Environment: CC, CFLAGS, LDFLAGS (for the reference library), NM,
# READELF, SAN_CFLAGS (sanitizer runtimes add constructors and state, so
# those checks are skipped in a sanitizer build).
# SPDX-License-Identifier: MIT
set -eu

so=$1 archive=$2
CC=${CC:-cc}
NM=${NM:-nm}
READELF=${READELF:-readelf}
SAN_CFLAGS=${SAN_CFLAGS:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bcast-plugin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() {
    echo "check-plugin-safety: $*" >&2
    fail=1
}

if [ -n "$SAN_CFLAGS" ]; then
    echo "check-plugin-safety: sanitizer build ($SAN_CFLAGS); skipped"
    exit 0
fi

# -- the objects of the static archive (the same sources as the .so)
case $archive in /*) ;; *) archive=$PWD/$archive ;; esac
mkdir "$tmp/ar"
(cd "$tmp/ar" && ar x "$archive") || { echo "check-plugin-safety: cannot unpack $archive" >&2; exit 99; }
for o in "$tmp"/ar/*.o; do
    name=$(basename "$o")
    # sections that run code at load/unload or hold per-thread data
    "$READELF" -S -W "$o" | awk -v obj="$name" '
        {
            for (i = 1; i <= NF; i++)
                if ($i ~ /^\.(init_array|fini_array|ctors|dtors|preinit_array|tdata|tbss)/)
                    print obj ": section " $i
        }' >>"$tmp/sections"
    # data, bss, common, unique-global, TLS symbols: writable state
    $NM "$o" | awk -v obj="$name" '
        NF == 3 && $2 ~ /^[bBdDCVu]$/ { print obj ": " $2 " " $3 }' >>"$tmp/data"
done
if [ -s "$tmp/sections" ]; then
    bad "constructor, destructor or TLS sections:"
    cat "$tmp/sections" >&2
fi
if [ -s "$tmp/data" ]; then
    bad "writable data (global mutable state):"
    cat "$tmp/data" >&2
fi

# -- the shared library against an empty one from the same toolchain
echo 'int bcast_plugin_reference(void); int bcast_plugin_reference(void) { return 0; }' \
    >"$tmp/ref.c"
# shellcheck disable=SC2086
$CC ${CFLAGS:-} -fPIC -shared ${LDFLAGS:-} "$tmp/ref.c" -o "$tmp/ref.so" ||
    { echo "check-plugin-safety: cannot build a reference library" >&2; exit 99; }
dyn_size() {
    "$READELF" -d "$1" | awk -v tag="($2)" '$2 == tag { print $3 + 0; found = 1 }
        END { if (!found) print 0 }'
}
for tag in INIT_ARRAYSZ FINI_ARRAYSZ PREINIT_ARRAYSZ; do
    ours=$(dyn_size "$so" $tag)
    ref=$(dyn_size "$tmp/ref.so" $tag)
    [ "$ours" -le "$ref" ] ||
        bad "$so: $tag is $ours bytes, the toolchain default is $ref (a constructor/destructor?)"
done
if "$READELF" -l -W "$so" | grep -q '^ *TLS '; then
    bad "$so has a TLS segment"
fi

# writable symbols in the .so that the empty reference does not have too
if $NM "$so" >/dev/null 2>&1 && [ -n "$($NM "$so" 2>/dev/null)" ]; then
    $NM "$so" | awk 'NF == 3 && $2 ~ /^[bBdDCVu]$/ { print $3 }' | sort -u >"$tmp/so-data"
    $NM "$tmp/ref.so" | awk 'NF == 3 && $2 ~ /^[bBdDCVu]$/ { print $3 }' | sort -u >"$tmp/ref-data"
    extra=$(comm -23 "$tmp/so-data" "$tmp/ref-data")
    [ -z "$extra" ] || bad "$so has writable symbols of its own: $(echo $extra)"
fi

# -- what the library calls: no threads, TLS, process-wide hooks or output
$NM -D --undefined-only "$so" | awk '{ print $NF }' | sed 's/@.*//' | sort -u >"$tmp/undef"
for f in pthread_create thrd_create clone fork __tls_get_addr pthread_key_create \
         pthread_setspecific tss_create atexit __cxa_atexit on_exit at_quick_exit \
         pthread_atfork __register_atfork __cxa_thread_atexit_impl signal sigaction \
         setenv putenv unsetenv setlocale srand rand strtok strerror \
         exit _exit _Exit abort __assert_fail printf fprintf vfprintf puts fputs \
         perror putchar fwrite dprintf syslog; do
    if grep -qx "$f" "$tmp/undef"; then
        bad "$so calls $f"
    fi
done

[ $fail = 0 ] &&
    echo "check-plugin-safety: no constructors, destructors, TLS, writable data, threads or hooks"
exit $fail
