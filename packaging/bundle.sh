#!/usr/bin/env bash
# packaging/bundle.sh - the relocatable bundle: hutch, hutch-overlay,
# hutch-net and hutch-squashfs with a private lib/ of every shared library
# they load beyond glibc, packed as OUT (a .tar.gz), with SHA256SUMS beside it.
#
# usage: VERSION=X [CC=cc] [STRIP=strip] packaging/bundle.sh DIR OUT.tar.gz
#
# `make bundle` runs it. DIR/bin holds the three programs, linked with a
# DT_RPATH of $ORIGIN/../lib (see the Makefile). This script adds to DIR:
#   lib/     the transitive closure (ldd) of the programs' libraries and of
#            the three that hutch loads with dlopen() (the sonames named in
#            image/lazylib.c), each under its soname
#   README   how to use it, the oldest glibc it needs, the AppArmor note
#   LICENSE
#   share/   the module files (Lmod's hutch.lua, a Tcl modulefile) and the
#            AppArmor profile to adapt
# then checks what it made: every library of the programs resolves inside
# lib/ or to glibc; no bundled library has a run path of its own (a
# DT_RUNPATH there would make the loader skip the programs' DT_RPATH for
# that library's dependencies); no file uses glibc's private symbols (those
# tie a library to one build of glibc).
#
# glibc itself is never bundled: ld.so's path is written into every program
# (/lib64/ld-linux-x86-64.so.2), libc must come from the same build as that
# ld.so, and the system's NSS modules (users from LDAP or sssd on a cluster)
# must match the system's libc. So the bundle needs a glibc at least as new
# as the highest GLIBC_x.y symbol version any of its files references,
# found with objdump -T and written into the README.
set -euo pipefail

die() {
	echo "bundle.sh: $*" >&2
	exit 1
}

(($# == 2)) || die "usage: VERSION=X packaging/bundle.sh DIR OUT.tar.gz"
dir=$1 out=$2
: "${VERSION:?VERSION is not set: run make bundle}"
cc=${CC:-cc}
strip=${STRIP:-strip}
src=$(cd "$(dirname "$0")/.." && pwd)
name=$(basename "$dir")

for tool in ldd objdump readelf "$strip" tar gzip sha256sum; do
	command -v "$tool" >/dev/null || die "$tool is missing: install binutils, libc-bin, tar, gzip and coreutils"
done
for p in hutch hutch-overlay hutch-net hutch-squashfs; do
	[ -x "$dir/bin/$p" ] || die "$dir/bin/$p is missing: run make bundle, which links it"
done

# is_glibc SONAME: a library of glibc's own, the system's to provide.
is_glibc() {
	[[ $1 =~ ^(ld-linux[-a-z0-9_]*|libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libanl|libBrokenLocale|libnss_[a-z0-9_]+|libthread_db|libc_malloc_debug|libmemusage|libpcprofile)\.so ]]
}

# deps FILE...: "SONAME PATH" for each library the loader finds for FILE
# (ldd lists the whole closure); fails on a library it cannot find.
deps() {
	local f line
	for f in "$@"; do
		line=$(ldd "$f") || die "ldd $f failed: $line"
		if grep -q 'not found' <<<"$line"; then
			die "$f: $(grep 'not found' <<<"$line" | head -n 1 | sed 's/^[[:space:]]*//'); install the library's runtime package"
		fi
		awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' <<<"$line"
	done
}

# The sonames hutch dlopen()s: image/lazylib.c's table.
mapfile -t lazy < <(sed -n 's/^static struct lazy_lib [a-z]* = { "\(lib[^"]*\.so[^"]*\)".*/\1/p' "$src/image/lazylib.c")
((${#lazy[@]} > 0)) || die "found no sonames in image/lazylib.c's lazy_lib table: update the pattern in $0"
lazy_paths=()
for so in "${lazy[@]}"; do
	p=$("$cc" -print-file-name="$so")
	if [ "${p#/}" = "$p" ] || [ ! -e "$p" ]; then
		die "$so (dlopen()ed by hutch) is not installed: install its runtime package (image/lazylib.c names it)"
	fi
	lazy_paths+=("$(readlink -f "$p")")
done

rm -rf "${dir:?}/lib" "${dir:?}/share"
mkdir -p "$dir/lib"
"$strip" --strip-debug "$dir"/bin/*
{
	deps "$dir"/bin/* "${lazy_paths[@]}"
	for i in "${!lazy[@]}"; do echo "${lazy[$i]} ${lazy_paths[$i]}"; done
} | sort -u | while read -r so path; do
	is_glibc "$so" && continue
	cp -L "$path" "$dir/lib/$so"
	chmod 0644 "$dir/lib/$so"
	echo "$path"
done >"$dir.libs"

# The checks.
libdir=$(cd "$dir/lib" && pwd -P)
deps "$dir"/bin/* | while read -r so path; do
	is_glibc "$so" && continue
	[ "$(dirname "$(readlink -f "$path")")" = "$libdir" ] ||
		die "$so resolves to $path, outside the bundle's lib/: the programs' run path is not \$ORIGIN/../lib"
done
for p in "$dir"/bin/*; do
	# shellcheck disable=SC2016 # a literal $ORIGIN
	readelf -d "$p" | grep 'RPATH.*\[\$ORIGIN/\.\./lib\]' >/dev/null ||
		die "$p has no DT_RPATH of \$ORIGIN/../lib: link it through make bundle"
done
for l in "$dir"/lib/*; do
	if readelf -d "$l" | grep RUNPATH >/dev/null; then
		die "$l has a DT_RUNPATH, which hides the bundle's lib/ from its dependencies"
	fi
done
# (grep without -q: with pipefail, grep -q leaving early would fail the
# pipeline through objdump's SIGPIPE.)
uses() {
	local pattern=$1 f
	shift
	for f in "$@"; do
		if objdump -T "$f" | grep -E "$pattern" >/dev/null; then echo "$f"; fi
	done
}
private=$(uses GLIBC_PRIVATE "$dir"/bin/* "$dir"/lib/*)
[ -z "$private" ] || die "these use GLIBC_PRIVATE symbols, which tie them to one glibc build: $(tr '\n' ' ' <<<"$private")"

# The oldest glibc it runs on, and which files need it.
glibc=$(objdump -T "$dir"/bin/* "$dir"/lib/* | grep -o 'GLIBC_[0-9][0-9.]*[0-9]' | sed 's/^GLIBC_//' | sort -uV | tail -n 1)
[ -n "$glibc" ] || die "objdump -T found no GLIBC_ symbol versions"
needs=$(cd "$dir" && uses "GLIBC_${glibc//./\\.}[^.0-9]" bin/* lib/* | tr '\n' ' ')

# Each library's licence: the copyright file of the Debian package that
# holds it (dpkg knows a file under /lib or /usr/lib, as it was shipped).
mkdir -p "$dir/share/licenses"
if command -v dpkg-query >/dev/null; then
	while read -r path; do
		pkg=
		for p in "$path" "$(readlink -f "$path")" "/usr${path#/usr}" "${path#/usr}"; do
			pkg=$(dpkg-query -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1) && [ -n "$pkg" ] && break
		done
		[ -n "$pkg" ] || die "no Debian package holds $path: cannot collect its licence"
		[ -e "$dir/share/licenses/$pkg" ] ||
			cp "/usr/share/doc/$pkg/copyright" "$dir/share/licenses/$pkg" ||
			die "no /usr/share/doc/$pkg/copyright for $path's licence"
	done <"$dir.libs"
else
	echo "bundle.sh: no dpkg-query here: share/licenses/ lacks the bundled libraries' licences; add them by hand" >&2
fi
rm -f "$dir.libs"

mkdir -p "$dir/share/lmod" "$dir/share/modulefiles" "$dir/share/apparmor"
cp "$src/packaging/modules/hutch.lua" "$dir/share/lmod/hutch.lua"
cp "$src/packaging/modules/hutch" "$dir/share/modulefiles/hutch"
cp "$src/packaging/apparmor/hutch" "$dir/share/apparmor/hutch"
cp "$src/LICENSE" "$dir/LICENSE"
sed -e "s|@VERSION@|$VERSION|g" -e "s|@NAME@|$name|g" -e "s|@GLIBC@|$glibc|g" \
	-e "s|@ARCH@|${name##*-}|g" \
	-e "s|@GLIBC_NEEDED_BY@|${needs% }|g" \
	"$src/packaging/bundle/README.in" >"$dir/README"
if grep '@[A-Z_]*@' "$dir/README" >/dev/null; then die "packaging/bundle/README.in has a placeholder this script does not fill"; fi

# Reproducible: sorted names, no owners, one timestamp (the last commit's).
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct 2>/dev/null || date +%s)}
tar -C "$(dirname "$dir")" --sort=name --owner=0 --group=0 --numeric-owner \
	--mtime="@$epoch" -cf - "$name" | gzip -n >"$out.part"
mv "$out.part" "$out"
(cd "$(dirname "$out")" && sha256sum "$(basename "$out")" >SHA256SUMS)
echo "bundle: $out ($(du -h "$out" | cut -f1); $(find "$dir/lib" -type f | wc -l) libraries; needs glibc $glibc or newer)"
