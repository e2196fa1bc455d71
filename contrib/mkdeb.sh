#!/usr/bin/env bash
# contrib/mkdeb.sh -- builds the Debian package of azblobfs (make deb).
#
#   contrib/mkdeb.sh TARBALL VERSION OUTDIR
#
# TARBALL is the release tarball (make dist) of VERSION. It is unpacked in
# a temporary directory under OUTDIR, its contrib/debian becomes debian/
# there, dpkg-buildpackage builds the binary package from it, and
# OUTDIR/azblobfs_DEBVERSION_ARCH.deb is what is left. Working from the
# tarball means the package holds what a release holds, whatever else
# lies in the source tree, and that no debian/ directory appears in it.
# DEB_BUILD_OPTIONS (nocheck, parallel=N) reaches the build as usual.
set -euo pipefail
PROG=mkdeb.sh

die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }

[ $# -eq 3 ] || die "usage: $PROG TARBALL VERSION OUTDIR"
tarball=$1 version=$2 outdir=$3
[ -f "$tarball" ] || die "$tarball not found (make dist makes it)"
for tool in dpkg-buildpackage dpkg-parsechangelog dh; do
  command -v "$tool" >/dev/null 2>&1 ||
    die "$tool not found: install the Debian packages dpkg-dev and debhelper (apt-get install dpkg-dev debhelper)"
done

mkdir -p "$outdir"
work=$(mktemp -d "$outdir/deb-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work"
src=$work/azblobfs-$version
[ -d "$src/contrib/debian" ] || die "$tarball holds no azblobfs-$version/contrib/debian"

debversion=$(dpkg-parsechangelog -l "$src/contrib/debian/changelog" -S Version)
if [ "${debversion%-*}" != "$version" ]; then
  die "contrib/debian/changelog is at $debversion but the sources are $version: add an entry first (dch --changelog contrib/debian/changelog -v $version-1)"
fi
arch=$(dpkg --print-architecture)
deb=azblobfs_${debversion}_$arch.deb

cp "$tarball" "$work/azblobfs_$version.orig.tar.gz"
cp -R "$src/contrib/debian" "$src/debian"
(cd "$src" && dpkg-buildpackage -b -us -uc) || die "dpkg-buildpackage failed (its output is above)"
[ -f "$work/$deb" ] || die "dpkg-buildpackage made no $deb"
mv -f "$work/$deb" "$outdir/$deb"
echo "$PROG: built $outdir/$deb"
