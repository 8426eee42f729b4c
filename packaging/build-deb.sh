#!/bin/sh
# build-deb.sh OUTDIR [SOURCE]
#
# Builds the Debian source package and the binary packages (libbcast0,
# libbcast-dev, bcast-tools) the way a Debian maintainer would: the
# upstream source is copied to a scratch directory, packaging/debian (next
# to this script) becomes its debian/ directory, and `dpkg-buildpackage
# -us -uc` runs there.  The source package (.dsc, .orig.tar.gz,
# .debian.tar.xz, which dpkg-source -x and sbuild take) and the .deb,
# .buildinfo and .changes files are copied to OUTDIR.
#
# SOURCE is a source tree (default: the tree holding this script; in a git
# checkout, its tracked and untracked-but-not-ignored files, so build
# output is left behind; an .orig.tar.gz is made from that copy) or a
# release tarball from `make dist`, which becomes the .orig.tar.gz.
# `make deb` does the latter.  Extra options for dpkg-buildpackage can be given in
# DPKG_BUILDPACKAGE_OPTS; DEB_BUILD_OPTIONS is honoured as usual.
#
# SPDX-License-Identifier: MIT
set -eu

usage() {
    echo "usage: $0 OUTDIR [SOURCE-TREE | libbcast-VERSION.tar.gz]" >&2
    exit 2
}
[ $# -ge 1 ] && [ $# -le 2 ] || usage

here=$(cd "$(dirname "$0")" && pwd)
debian=$here/debian
src=${2:-$(dirname "$here")}
mkdir -p "$1"
out=$(cd "$1" && pwd)

for tool in dpkg-buildpackage dpkg-parsechangelog; do
    command -v $tool >/dev/null 2>&1 ||
        { echo "build-deb: $tool not found (apt-get install dpkg-dev debhelper)" >&2; exit 1; }
done
version=$(dpkg-parsechangelog -l "$debian/changelog" -S Version)
upstream=${version%-*}
package=$(dpkg-parsechangelog -l "$debian/changelog" -S Source)

work=$(mktemp -d "${TMPDIR:-/tmp}/bcast-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree=$work/$package-$upstream

if [ -f "$src" ]; then
    # a release tarball
    top=$(tar -tzf "$src" | head -n 1 | cut -d/ -f1)
    tar -xzf "$src" -C "$work"
    [ "$work/$top" = "$tree" ] || mv "$work/$top" "$tree"
    cp "$src" "$work/${package}_$upstream.orig.tar.gz"
elif [ -d "$src" ]; then
    src=$(cd "$src" && pwd)
    mkdir "$tree"
    if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        # what the checkout holds, without build output
        (cd "$src" && git ls-files -z --cached --others --exclude-standard) |
            (cd "$src" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
            (cd "$src" && xargs -0 cp --parents -P -t "$tree")
    else
        cp -a "$src/." "$tree"
    fi
    rm -rf "$tree/debian"
    (cd "$work" && tar -czf "${package}_$upstream.orig.tar.gz" "$package-$upstream")
else
    usage
fi

rm -rf "$tree/debian"
cp -a "$debian" "$tree/debian"

echo "build-deb: building $package $version in $tree"
# shellcheck disable=SC2086
(cd "$tree" && dpkg-buildpackage -us -uc ${DPKG_BUILDPACKAGE_OPTS:-})

found=0
for f in "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$work"/*.dsc \
    "$work"/*.orig.tar.* "$work"/*.debian.tar.*; do
    [ -e "$f" ] || continue
    cp "$f" "$out/"
    found=$((found + 1))
done
[ $found -gt 0 ] || { echo "build-deb: no packages were produced" >&2; exit 1; }
echo "build-deb: packages in $out:"
ls -1 "$out"/*.dsc "$out"/*.deb
