#!/bin/sh
# Checks the hand-written man pages in doc/ (run by `make check`):
#  - every symbol exported by src/libbcast.map has a page doc/NAME.3, so that
#    `man 3 NAME` works;
#  - a .so stub points at a page that exists and names the stub's function
#    in its NAME section;
#  - every other page renders with `groff -man -ww -z` without a warning, has
#    the sections of the house style, refers in SEE ALSO only to pages of
#    this project that exist, and is listed in doc/local.mk (so it is
#    installed and shipped);
#  - the program in a page's EXAMPLE section compiles without a warning;
#  - every prototype and typedef of include/bcast.h is in a SYNOPSIS.
# Exit 77 (skip) when groff is missing.
#
# SPDX-License-Identifier: MIT

srcdir=${srcdir:-.}
doc=$srcdir/doc
fail=0

err() {
    echo "check-man: $*" >&2
    fail=1
}

if ! command -v groff >/dev/null 2>&1; then
    echo "check-man: groff not found, skipping"
    exit 77
fi
if [ ! -f "$srcdir/src/libbcast.map" ] || [ ! -f "$doc/local.mk" ]; then
    echo "check-man: run from the build tree, with srcdir set" >&2
    exit 99
fi

# the section-1 pages are for the tools; sections 3, 5 and 7 are checked here
pages=$(ls "$doc"/*.3 "$doc"/*.5 "$doc"/*.7 2>/dev/null)

# 1. every exported function has a page
for sym in $(sed -n 's/^[[:space:]]*\(bcast_[A-Za-z0-9_]*\);.*/\1/p' "$srcdir/src/libbcast.map"); do
    [ -f "$doc/$sym.3" ] || err "no page doc/$sym.3 for the exported $sym"
done

# the text of a section of a page (troff source), from ".SH NAME" to the next .SH
section() {
    sed -n "/^\\.SH \"\\{0,1\\}$2\"\\{0,1\\}\$/,/^\\.SH /p" "$1" | sed '/^\.SH /d'
}

# a C compiler and the generated version header, for the examples
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
    cc=
elif [ -f include/bcast-version.h ]; then
    cc_inc="-Iinclude"
elif [ -f "$srcdir/include/bcast-version.h" ]; then
    cc_inc=
else
    cc=
fi
[ -n "$cc" ] || echo "check-man: no compiler or include/bcast-version.h: examples not compiled"
tmp=${TMPDIR:-/tmp}/check-man.$$
trap 'rm -f "$tmp".c "$tmp".h' EXIT

for page in $pages; do
    base=${page##*/}
    name=${base%.*}
    first=$(sed -n 1p "$page")
    case $first in
    .so\ *)
        target=${first#.so }
        tpage=$doc/${target##*/}
        case $target in
        man3/*.3 | man7/*.7) ;;
        *) err "$base: .so target '$target' is not man3/NAME.3 or man7/NAME.7" ;;
        esac
        if [ ! -f "$tpage" ]; then
            err "$base: .so target $target does not exist"
        elif ! section "$tpage" NAME | grep -q "\\(^\\|[ ,]\\)$name\\([ ,]\\|\$\\)"; then
            err "$base: ${tpage##*/} does not name $name in its NAME section"
        fi
        [ "$(wc -l <"$page")" -eq 1 ] || err "$base: a .so stub has one line"
        ;;
    *)
        out=$(groff -man -ww -z "$page" 2>&1)
        [ -z "$out" ] || err "$base: groff warnings:
$out"
        case $base in
        *.3) want="NAME SYNOPSIS DESCRIPTION RETURN.VALUE ERRORS NOTES EXAMPLE SEE.ALSO" ;;
        *) want="NAME SYNOPSIS DESCRIPTION NOTES ERRORS EXAMPLE SEE.ALSO" ;;
        esac
        for s in $want; do
            grep -q "^\\.SH \"\\{0,1\\}$s\"\\{0,1\\}\$" "$page" || err "$base: no $s section"
        done
        section "$page" NAME | grep -q "^$name\\( \\|,\\)" || err "$base: NAME does not start with $name"
        # SEE ALSO refers only to pages that exist (tool pages, section 1, are others')
        for ref in $(section "$page" "SEE ALSO" | sed -n 's/^\.BR \(bcast[A-Za-z0-9_]*\) (\([357]\)).*/\1.\2/p'); do
            [ -f "$doc/$ref" ] || err "$base: SEE ALSO names $ref, which does not exist"
        done
        grep -q "doc/$base\\>" "$doc/local.mk" || err "$base: not listed in doc/local.mk"
        if [ -n "$cc" ]; then
            section "$page" EXAMPLE | sed -n '/^\.EX/,/^\.EE/p' | sed '/^\.EX/d;/^\.EE/d' |
                sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\&//g' -e "s/\\\\(aq/'/g" \
                    -e 's/\\(dq/"/g' >"$tmp.c"
            if [ -s "$tmp.c" ]; then
                # shellcheck disable=SC2086
                out=$("$cc" -std=gnu11 -Wall -Wextra -Werror -fsyntax-only $cc_inc \
                    -I"$srcdir/include" "$tmp.c" 2>&1) ||
                    err "$base: the EXAMPLE does not compile:
$out"
            else
                err "$base: no .EX/.EE program in EXAMPLE"
            fi
        fi
        ;;
    esac
done

# 2. every prototype and typedef of include/bcast.h appears, word for word,
#    in the SYNOPSIS of a page
synopses=$(for page in $pages; do
    case $(sed -n 1p "$page") in .so\ *) continue ;; esac
    groff -man -Tascii -P-cbou -rLL=300n "$page" 2>/dev/null |
        sed -n '/^SYNOPSIS/,/^DESCRIPTION/p'
done | tr -s ' \n' '  ')
# the header without comments and preprocessor lines, one declaration a line
awk '{
    line = $0; out = ""
    while (length(line)) {
        if (c) {
            i = index(line, "*/"); if (!i) break
            line = substr(line, i + 2); c = 0
        } else {
            i = index(line, "/*")
            if (!i) { out = out line; break }
            out = out substr(line, 1, i - 1); line = substr(line, i + 2); c = 1
        }
    }
    if (out ~ /^[ \t]*#/) next
    gsub(/BCAST_WARN_UNUSED/, "", out)
    printf "%s ", out
}' "$srcdir/include/bcast.h" | tr -s ' \t' '  ' | tr ';' '\n' |
    sed 's/^ *//; s/^.*{ //' | grep 'bcast_[A-Za-z0-9_]*(\|^typedef' >"$tmp.h"
[ -s "$tmp.h" ] || err "no prototypes found in include/bcast.h"
while IFS= read -r proto; do
    case $synopses in
    *"$proto;"*) ;;
    *) err "no page has this prototype in its SYNOPSIS: $proto;" ;;
    esac
done <"$tmp.h"

# 3. every page in doc/local.mk exists (a stale name breaks `make dist`)
for f in $(sed -n 's/.*\(doc\/[A-Za-z0-9_.-]*\.[1357]\).*/\1/p' "$doc/local.mk"); do
    [ -f "$srcdir/$f" ] || err "doc/local.mk lists $f, which does not exist"
done

exit $fail
