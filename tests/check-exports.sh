#!/bin/sh
# check-exports.sh MAP INCLUDE_DIR BUILD_INCLUDE_DIR SHARED_LIB STATIC_LIB SONAME
#
# The exported ABI of libbcast is exactly what src/libbcast.map lists:
#  - the dynamic symbols the shared library defines are the map's global
#    names, each carrying the version of the map node that lists it;
#  - every function declared in include/bcast.h is in the map, and every
#    name in the map is declared there;
#  - the SONAME is the expected one, and the library is linked with full
#    RELRO (-z relro -z now) and without undefined references of its own
#    (-z defs: every undefined symbol comes versioned from a needed library);
#  - the static archive defines no global symbol outside the bcast_
#    namespace (hidden bcast__ helpers are fine there; the .so hides them).
#
# Environment: CC, NM, READELF (defaults cc, nm, readelf), SAN_CFLAGS.
# SPDX-License-Identifier: MIT
set -eu

map=$1 incdir=$2 bincdir=$3 so=$4 archive=$5 soname=$6
header=$incdir/bcast.h
CC=${CC:-cc}
NM=${NM:-nm}
READELF=${READELF:-readelf}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bcast-exports.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() {
    echo "check-exports: $*" >&2
    fail=1
}

for f in "$map" "$header" "$so" "$archive"; do
    [ -f "$f" ] || { echo "check-exports: $f: missing" >&2; exit 1; }
done

# name@NODE for every global of the version script (comments removed)
awk '
    { line = line $0 "\n" }
    END {
        while ((i = index(line, "/*")) > 0) {
            rest = substr(line, i + 2)
            j = index(rest, "*/")
            if (j == 0) { line = substr(line, 1, i - 1); break }
            line = substr(line, 1, i - 1) " " substr(rest, j + 2)
        }
        gsub(/[{}]/, " & ", line)
        n = split(line, tok, /[ \t\n;]+/)
        node = ""; global = 0; prev = ""
        for (k = 1; k <= n; k++) {
            t = tok[k]
            if (t == "") continue
            if (t == "{") node = prev
            else if (t == "}") { node = ""; global = 0 }
            else if (t == "global:") global = 1
            else if (t == "local:") global = 0
            else if (node != "" && global) print t "@" node
            prev = t
        }
    }' "$map" | sort >"$tmp/map"
[ -s "$tmp/map" ] || bad "$map: no global symbols found"

# name@VERSION for every symbol the shared library defines and exports
# (the absolute version node symbols themselves, BCAST_1.0, left out)
"$READELF" --dyn-syms -W "$so" | awk '
    $1 ~ /^[0-9]+:$/ && $7 != "UND" && $7 != "ABS" &&
    ($5 == "GLOBAL" || $5 == "WEAK") && ($6 == "DEFAULT" || $6 == "PROTECTED") {
        name = $8; sub(/@@/, "@", name); print name
    }' | sort >"$tmp/so"

if ! cmp -s "$tmp/map" "$tmp/so"; then
    bad "$so exports differ from $map (< map only, > library only):"
    diff "$tmp/map" "$tmp/so" | grep '^[<>]' >&2 || true
fi
unversioned=$(grep -v '@' "$tmp/so" || true)
[ -z "$unversioned" ] || bad "unversioned exports: $unversioned"

# the functions include/bcast.h declares (a typedef'd pointer, (*bcast_x)(,
# has no "(" right after its name)
echo '#include <bcast.h>' >"$tmp/h.c"
"$CC" -E -P -I"$incdir" -I"$bincdir" "$tmp/h.c" >"$tmp/h.i" 2>"$tmp/h.err" ||
    { cat "$tmp/h.err" >&2; bad "cannot preprocess $header"; }
tr -s ' \t\n' '   ' <"$tmp/h.i" | grep -o '[^_A-Za-z0-9]bcast_[a-z0-9_]* *(' |
    sed 's/^.//; s/ *($//' | sort -u >"$tmp/header"
sed 's/@.*//' "$tmp/map" | sort -u >"$tmp/mapnames"
if ! cmp -s "$tmp/mapnames" "$tmp/header"; then
    bad "$map and $header disagree (< map only, > header only):"
    diff "$tmp/mapnames" "$tmp/header" | grep '^[<>]' >&2 || true
fi

# SONAME
got=$("$READELF" -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[ "$got" = "$soname" ] || bad "$so: SONAME is '$got', expected '$soname'"

# link hardening
"$READELF" -l -W "$so" | grep -q 'GNU_RELRO' || bad "$so has no GNU_RELRO segment (-z relro)"
"$READELF" -d "$so" | grep -Eq 'BIND_NOW|FLAGS_1.*NOW' || bad "$so is not linked with -z now"
# (sanitizer runtimes export unversioned symbols, so not in such builds)
unresolved=$("$READELF" --dyn-syms -W "$so" | awk '
    $1 ~ /^[0-9]+:$/ && $7 == "UND" && $5 == "GLOBAL" && $8 != "" && $8 !~ /@/ { print $8 }')
[ -z "$unresolved" ] || [ -n "${SAN_CFLAGS:-}" ] || bad "$so has undefined symbols no library provides: $(echo $unresolved)"

# calls between the library's own files bind inside it: no PLT call to a bcast_
# function (the hidden aliases of src/ring.h); skipped without objdump
if command -v objdump >/dev/null 2>&1; then
    plt=$(objdump -d --no-show-raw-insn "$so" | grep -Eo '(call|jmp) +[0-9a-f]+ <bcast_[a-z_0-9]*@plt>' |
          sed 's/.*<\(.*\)@plt>/\1/' | sort -u)
    [ -z "$plt" ] || bad "$so calls its own functions through the PLT: $(echo $plt)"
fi

# the static archive: global definitions only in the bcast_ namespace
$NM -g --defined-only "$archive" | awk 'NF == 3 { print $3 }' | sort -u >"$tmp/ar"
[ -s "$tmp/ar" ] || bad "$archive: no global symbols found"
foreign=$(grep -v '^bcast_' "$tmp/ar" || true)
[ -z "$foreign" ] || bad "$archive defines globals outside bcast_: $(echo $foreign)"

if [ $fail = 0 ]; then
    echo "check-exports: $(wc -l <"$tmp/so") symbols exported, all versioned as $map says;" \
        "header agrees; no internal PLT calls; SONAME $soname, full RELRO; $(basename "$archive") clean"
fi
exit $fail
