#!/bin/sh
# check-header.sh INCLUDE_DIR BUILD_INCLUDE_DIR
#
# The installed header must compile cleanly wherever a user includes it:
# strict ISO C99 and C11 with every common warning as an error, and C++11
# (extern "C", no C-only constructs).  It is included twice to check its
# guard, and on its own first so it cannot lean on an earlier include.
#
# Environment: CC (default cc), CXX (the C++ check is skipped without it).
# SPDX-License-Identifier: MIT
set -eu

incdir=$1 bincdir=$2
CC=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bcast-header.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0

cat >"$tmp/t.c" <<'EOF'
#include <bcast.h>
#include <bcast.h>

/* uses every type and macro family so nothing is only declared */
static int keep(uint32_t user_defined, void *ctx)
{
    (void)ctx;
    return user_defined != 0;
}

int bcast_header_test(struct bcast_reader *r);
int bcast_header_test(struct bcast_reader *r)
{
    bcast_filter f = keep;
    char buf[BCAST_HEADER_SIZE + BCAST_METADATA_SIZE + BCAST_ALIGNMENT];
    int flags = BCAST_MORE | BCAST_CONTINUATION | BCAST_HEARTBEAT |
                BCAST_FILE_MLOCK | BCAST_FILE_NO_POPULATE;

    bcast_reader_set_filter(r, f, NULL);
    if (BCAST_VERSION_NUMBER < BCAST_VERSION_AT(1, 0, 0))
        return -1;
    return bcast_reader_receive(r, buf, sizeof buf, NULL) > 0 ? flags : 0;
}
EOF
cp "$tmp/t.c" "$tmp/t.cc"

strict="-Werror -Wall -Wextra -Wshadow -Wundef -Wstrict-prototypes -Wmissing-prototypes"
for std in c99 c11; do
    if ! "$CC" -std=$std -pedantic $strict -I"$incdir" -I"$bincdir" \
            -c "$tmp/t.c" -o "$tmp/t.o" 2>"$tmp/err"; then
        echo "check-header: bcast.h fails with $CC -std=$std -pedantic $strict:" >&2
        cat "$tmp/err" >&2
        fail=1
    fi
done

if [ -n "${CXX:-}" ]; then
    cxxflags="-std=c++11 -pedantic -Werror -Wall -Wextra -Wshadow -Wundef -Wold-style-cast"
    if ! $CXX $cxxflags -I"$incdir" -I"$bincdir" -c "$tmp/t.cc" -o "$tmp/t.o" 2>"$tmp/err"; then
        echo "check-header: bcast.h fails with $CXX $cxxflags:" >&2
        cat "$tmp/err" >&2
        fail=1
    fi
else
    echo "check-header: no C++ compiler found; C++ check skipped"
fi

[ $fail = 0 ] && echo "check-header: bcast.h is clean as C99, C11${CXX:+ and C++11}"
exit $fail
