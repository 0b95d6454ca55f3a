#!/usr/bin/env bats
# bundle.bats - make bundle: the relocatable tarball (packaging/bundle.sh)
# unpacked into a fresh directory and used without root, on the host and on
# a Debian minbase root filesystem that has none of hutch's libraries: the
# busybox and the Debian image pulled, built on, run -d -p and answering
# over HTTP; its ldd, its README's glibc floor, its module files under Lmod;
# and make install into a user's PREFIX.
#
# setup_file builds everything once: the bundle from a copy of the source
# (one compile), the registry with both images, and the tree, whose every
# library that the bundle also ships is deleted (so a wrong run path fails
# here rather than borrowing the tree's copy).

load ../lib/common
load ../lib/registry
load lib

setup_file() {
	export SRC=$BATS_FILE_TMPDIR/src
	export VERSION
	VERSION=$(pkg_version)
	export NAME=hutch-$VERSION-$(uname -m)
	pkg_source "$SRC"
	make -C "$SRC" -j2 bundle >"$BATS_FILE_TMPDIR/make.log" 2>&1 || {
		tail -n 30 "$BATS_FILE_TMPDIR/make.log" >&2
		return 1
	}
	export TARBALL=$SRC/out/$NAME.tar.gz
	registry_start "$BATS_FILE_TMPDIR/reg"
	pkg_push_busybox

	local rc=0
	pkg_debian_tar || rc=$?
	((rc != 1)) || return 1
	export TREE=
	((rc == 2)) && return 0
	export TREE=$BATS_FILE_TMPDIR/tree
	pkg_tree "$TREE"
	tar -C "$TREE/home/u" -xzf "$TARBALL"
	local so
	for so in $(ls "$TREE/home/u/$NAME/lib"); do
		find "$TREE/usr/lib" "$TREE/usr/local/lib" \( -name "$so" -o -name "$so.*" \) -delete
	done
	pkg_context "$TREE/home/u/ctx-busybox" busybox
	pkg_context "$TREE/home/u/ctx-debian" debian
	cp "$HUTCH_TESTS/packaging/story.sh" "$TREE/home/u/story.sh"
	pkg_push_debian
}

teardown_file() {
	registry_stop
	pkg_tree_remove "${TREE:-}"
}

setup() {
	hutch_test_env
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
	B=$BATS_TEST_TMPDIR/unpacked/$NAME
}

teardown() {
	remove_store "$HUTCH_ROOT"
}

unpack() {
	mkdir -p "$BATS_TEST_TMPDIR/unpacked"
	tar -C "$BATS_TEST_TMPDIR/unpacked" -xzf "$TARBALL"
}

@test "make bundle: the tarball, SHA256SUMS, three programs, the libraries hutch dlopen()s, a README with the glibc floor" {
	cd "$SRC/out"
	run sha256sum -c SHA256SUMS
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$NAME.tar.gz: OK" ]
	unpack
	for p in hutch hutch-overlay hutch-net hutch-squashfs; do [ -x "$B/bin/$p" ]; done
	# The sonames image/lazylib.c loads, under those names.
	for so in $(sed -n 's/^static struct lazy_lib [a-z]* = { "\([^"]*\)".*/\1/p' "$SRC/image/lazylib.c"); do
		[ -f "$B/lib/$so" ]
	done
	[ -f "$B/lib/libcurl.so.4" ]
	# glibc stays the system's.
	! ls "$B/lib" | grep -E '^(libc|libm|ld-linux.*)\.so' || false
	# The README's floor is what objdump finds, and says how.
	floor=$(cd "$B" && objdump -T bin/* lib/* | grep -o 'GLIBC_[0-9.]*[0-9]' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
	echo "floor=$floor"
	grep -q "^- glibc $floor or newer" "$B/README"
	grep -q "objdump -T bin/\* lib/\*" "$B/README"
	! grep -q '@[A-Z_]*@' "$B/README" || false
	[ -f "$B/share/lmod/hutch.lua" ] && [ -f "$B/share/modulefiles/hutch" ]
	[ -f "$B/share/apparmor/hutch" ] && [ -f "$B/LICENSE" ] && [ -f "$B/share/licenses/libcurl4" ]
	# Unpacked anywhere, it runs; moved, it still runs.
	"$B/bin/hutch" version
	mv "$BATS_TEST_TMPDIR/unpacked" "$BATS_TEST_TMPDIR/moved"
	"$BATS_TEST_TMPDIR/moved/$NAME/bin/hutch" version | grep -q "^hutch: *$VERSION"
	"$BATS_TEST_TMPDIR/moved/$NAME/bin/hutch-net" --help >/dev/null
	"$BATS_TEST_TMPDIR/moved/$NAME/bin/hutch-overlay" --help >/dev/null
}

@test "ldd of the bundle's programs: nothing outside its lib/ and glibc, on the host (which has them all) and in the tree (which has none)" {
	unpack
	for p in hutch hutch-overlay hutch-net hutch-squashfs; do
		run ldd "$B/bin/$p"
		echo "$output"
		[ "$status" -eq 0 ]
		pkg_ldd_clean "$B/bin/../lib" "$output"
	done
	# libcurl, which hutch dlopen()s, comes from lib/ too: a pull loads it.
	run env LD_DEBUG=libs "$B/bin/hutch" pull -q "$REG/pkg/busybox:1"
	[ "$status" -eq 0 ]
	grep -E 'calling init: .*/libcurl\.so\.4' <<<"$output"
	grep -qF "calling init: $B/bin/../lib/libcurl.so.4" <<<"$output"
	[ -n "$TREE" ] || skip "the host's half passed; the tree's needs the Debian tarball: $PKG_NO_TAR"
	run tree_run "$TREE" user /bin/sh -c 'for p in hutch hutch-overlay hutch-net hutch-squashfs; do ldd "$1/$p"; done' \
		sh "/home/u/$NAME/bin"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output != *"not found"* ]]
	pkg_ldd_clean "/home/u/$NAME/bin/../lib" "$output"
}

@test "in a Debian tree without hutch's libraries: the bundle pulls, builds, runs -d -p the busybox image, answers, rm" {
	[ -n "$TREE" ] || skip "$PKG_NO_TAR"
	# Not one of the bundle's libraries is left in the tree's library
	# directories (/lib is a link to usr/lib in Debian 12).
	left=$(for so in $(ls "$TREE/home/u/$NAME/lib"); do
		find "$TREE/usr/lib" "$TREE/usr/local/lib" \( -name "$so" -o -name "$so.*" \)
	done)
	echo "left: $left"
	[ -z "$left" ]
	[ -L "$TREE/lib" ] && [ "$(readlink "$TREE/lib")" = usr/lib ]
	port=$(reg_free_port)
	# busybox's id: the tree's coreutils lost libpcre2 (libselinux needs
	# it; the bundle ships it for GLib).
	PKG_PATH=/home/u/$NAME/bin run tree_run "$TREE" user /bin/sh -c '
		echo "uid $(busybox id -u), uid_map: $(busybox cat /proc/self/uid_map)"
		exec busybox sh /home/u/story.sh hutch "$1" /home/u/ctx-busybox "$2" built-by-hutch' \
		sh "$REG/pkg/busybox:1" "$port"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "uid 1000, uid_map: "*"1000"*"0"*"1" ]]
	[[ $output == *"story: answered: built-by-hutch"* ]]
	[[ $output == *"story: OK" ]]
}

@test "in a Debian tree without hutch's libraries: the bundle pulls, builds on, runs -d -p the Debian image, answers, rm" {
	[ -n "$TREE" ] || skip "$PKG_NO_TAR"
	port=$(reg_free_port)
	PKG_PATH=/home/u/$NAME/bin run tree_run "$TREE" user \
		busybox sh /home/u/story.sh hutch "$REG/pkg/debian:bookworm" /home/u/ctx-debian "$port" \
		"built-by-hutch on debian 12"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"story: answered: built-by-hutch on debian 12"* ]]
	[[ $output == *"story: OK" ]]
}

@test "in the tree made to look like Fedora (its CA bundle in /etc/pki/tls/certs), the bundle's libcurl, built on Debian, verifies TLS" {
	[ -n "$TREE" ] || skip "$PKG_NO_TAR"
	# Debian's libcurl looks for /etc/ssl/certs/ca-certificates.crt, which
	# Fedora, RHEL and openSUSE do not have; hutch then takes the
	# distribution's bundle (image/http.c). The registry is reg.test (from
	# the tree's /etc/hosts): loopback names are never verified.
	pkg_tls_registry "$BATS_TEST_TMPDIR/tls" "$BATS_FILE_TMPDIR/reg/storage"
	certs=$TREE/etc/ssl/certs
	mv "$certs/ca-certificates.crt" "$BATS_TEST_TMPDIR/debian-cas"
	mkdir -p "$TREE/etc/pki/tls/certs"
	cat "$BATS_TEST_TMPDIR/debian-cas" "$BATS_TEST_TMPDIR/tls/ca.crt" >"$TREE/etc/pki/tls/certs/ca-bundle.crt"
	# (minbase has no /etc/hosts)
	[ ! -e "$TREE/etc/hosts" ]
	printf '127.0.0.1 localhost reg.test\n' >"$TREE/etc/hosts"
	PKG_PATH=/home/u/$NAME/bin run tree_run "$TREE" user hutch pull "reg.test:$TLS_PORT/pkg/busybox:1"
	echo "$output"
	mv "$BATS_TEST_TMPDIR/debian-cas" "$certs/ca-certificates.crt"
	rm -r "$TREE/etc/pki"
	rm "$TREE/etc/hosts"
	[ "$status" -eq 0 ]
	[[ $output == *"Status: Downloaded newer image for reg.test:$TLS_PORT/pkg/busybox:1"* ]]
}

@test "module load hutch, with Lmod, from the bundle's Lua and Tcl module files: which hutch is the bundle's" {
	unpack
	init=/usr/share/lmod/lmod/init/bash
	[ -r "$init" ] || { echo "Lmod is missing ($init): apt-get install lmod"; false; }
	for dir in share/lmod share/modulefiles; do
		run bash -c 'source "$1" && module use "$2" && module load hutch && command -v hutch && hutch version' \
			sh "$init" "$B/$dir"
		echo "$dir: $output"
		[ "$status" -eq 0 ]
		[ "${lines[0]}" = "$B/bin/hutch" ]
		[[ ${lines[1]} == "hutch:"*"$VERSION"* ]]
	done
	# Copied elsewhere, the file says what to set, in one line.
	mkdir -p "$BATS_TEST_TMPDIR/mods"
	cp "$B/share/lmod/hutch.lua" "$BATS_TEST_TMPDIR/mods/"
	run bash -c 'source "$1" && module use "$2" && module load hutch' sh "$init" "$BATS_TEST_TMPDIR/mods"
	echo "$output"
	[ "$status" -ne 0 ]
	# (Lmod wraps its messages.)
	[[ $(tr -s '\n ' '  ' <<<"$output") == *"mods/hutch.lua; set root at the top of this file"* ]]
}

@test "make install PREFIX=\$HOME/.local: no root, the three programs, hutch finds its helpers; make uninstall" {
	run make -C "$SRC" install PREFIX="$HOME/.local"
	echo "$output"
	[ "$status" -eq 0 ]
	for p in hutch hutch-overlay hutch-net hutch-squashfs; do [ -x "$HOME/.local/bin/$p" ]; done
	"$HOME/.local/bin/hutch" version | grep -q "^hutch: *$VERSION"
	# A published port starts hutch-net from beside hutch.
	make_rootfs "$BATS_TEST_TMPDIR/rootfs"
	port=$(reg_free_port)
	run "$HOME/.local/bin/hutch" run --rm --rootfs "$BATS_TEST_TMPDIR/rootfs" -p "$port:8080" -- true
	echo "$output"
	[ "$status" -eq 0 ]
	run make -C "$SRC" uninstall PREFIX="$HOME/.local"
	[ "$status" -eq 0 ]
	[ -z "$(ls -A "$HOME/.local/bin")" ]
}
