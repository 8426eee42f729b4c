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
# Environment: CC, NM, READELF, OBJDUMP (defaults cc, nm, readelf, objdump;
# a cross build passes its own), SAN_CFLAGS.
# SPDX-License-Identifier: MIT
set -eu

map=$1 incdir=$2 bincdir=$3 so=$4 archive=$5 soname=$6
header=$incdir/bcast.h
CC=${CC:-cc}
NM=${NM:-nm}
READELF=${READELF:-readelf}
OBJDUMP=${OBJDUMP:-objdump}

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

# the dynamic symbol table, one symbol a line, Num: Value Size Type Bind Vis
# Ndx Name; ppc64el adds "[<localentry>: 8]" after Vis, dropped here
dynsyms() {
    "$READELF" --dyn-syms -W "$1" | sed 's/ \[[^]]*\]//g'
}

# name@VERSION for every symbol the shared library defines and exports
# (the absolute version node symbols themselves, BCAST_1.0, left out)
dynsyms "$so" | awk '
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
unresolved=$(dynsyms "$so" | awk '
    $1 ~ /^[0-9]+:$/ && $7 == "UND" && $5 == "GLOBAL" && $8 != "" && $8 !~ /@/ { print $8 }')
[ -z "$unresolved" ] || [ -n "${SAN_CFLAGS:-}" ] || bad "$so has undefined symbols no library provides: $(echo $unresolved)"

# calls between the library's own files bind inside it (the hidden aliases
# of src/ring.h): no PLT slot for a bcast_ function, whatever the
# architecture calls its relocation (R_X86_64_JUMP_SLOT, R_PPC64_JMP_SLOT...)
slots=$("$READELF" -r -W "$so" | awk '$3 ~ /_JU?MP_SLOT$/ && $5 ~ /^bcast_/ { print $5 }' |
        sed 's/@.*//' | sort -u)
[ -z "$slots" ] || bad "$so has PLT slots for its own functions: $(echo $slots)"
# and no call or jump to a PLT entry or stub of one, as objdump shows it:
#   x86-64, i386   call/jmp        <bcast_x@plt>
#   arm64          bl/b            <bcast_x@plt>
#   armhf          bl/blx/b(.w)    <bcast_x@plt>, Thumb code <bcast_x@plt+0x4>
#   ppc64el        bl/b            <0000001a.plt_call.bcast_x>, <__plt_bcast_x>
#   s390x          brasl/jg        <bcast_x@plt>
#   riscv64        jal/j (or auipc with jalr)  <bcast_x@plt>
# (skipped without objdump; an objdump that cannot disassemble this
# architecture is an error, not a pass)
if command -v "$OBJDUMP" >/dev/null 2>&1; then
    "$OBJDUMP" -d --no-show-raw-insn "$so" >"$tmp/dis" 2>"$tmp/dis.err" || true
    if grep -q '^[0-9a-f]* <bcast_[a-z_0-9]*>:$' "$tmp/dis"; then
        plt=$(grep -E '^ *[0-9a-f]+:[[:space:]]+(call|callq|jmp|jmpq|bl|blx|b|b\.w|b\.n|brasl|jg|jal|jalr|j|tail)[[:space:]].*<([0-9a-f]*\.?plt_call\.|__plt_)?bcast_[a-z_0-9]*(@plt)?(\+0x[0-9a-f]+)?>' "$tmp/dis" |
              grep -E '<([0-9a-f]*\.?plt_call\.|__plt_)bcast_|@plt(\+0x[0-9a-f]+)?>' |
              sed -E 's/.*<([0-9a-f]*\.?plt_call\.|__plt_)?(bcast_[a-z_0-9]*).*/\2/' | sort -u)
        [ -z "$plt" ] || bad "$so calls its own functions through the PLT: $(echo $plt)"
    else
        bad "$OBJDUMP cannot disassemble $so: $(head -n 1 "$tmp/dis.err")"
    fi
fi

# the static archive: global definitions only in the bcast_ namespace, but
# for the helpers i386 PIC code gets from the compiler (__x86.get_pc_thunk.bx
# and the like), which GCC emits hidden in COMDAT groups: the linker keeps
# one copy and they never meet a program's names
$NM -g --defined-only "$archive" | awk 'NF == 3 && $3 !~ /^__x86\.get_pc_thunk\./ { print $3 }' |
    sort -u >"$tmp/ar"
[ -s "$tmp/ar" ] || bad "$archive: no global symbols found"
foreign=$(grep -v '^bcast_' "$tmp/ar" || true)
[ -z "$foreign" ] || bad "$archive defines globals outside bcast_: $(echo $foreign)"

if [ $fail = 0 ]; then
    echo "check-exports: $(wc -l <"$tmp/so") symbols exported, all versioned as $map says;" \
        "header agrees; no internal PLT calls; SONAME $soname, full RELRO; $(basename "$archive") clean"
fi
exit $fail
