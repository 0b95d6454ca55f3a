#!/usr/bin/env bats
# packages.bats - packaging/: the Debian package, built by
# dpkg-buildpackage and installed with apt into a clean Debian minbase tree,
# where its hutch runs the test image; the AppArmor profile through
# apparmor_parser; the RPM built by rpmbuild; the Spack recipe loaded; one
# version everywhere. As the test user throughout: the tree is made and
# entered in user namespaces (lib.bash, enter-tree.sh).

load ../lib/common
load ../lib/registry
load lib

setup_file() {
	export VERSION ARCH
	VERSION=$(pkg_version)
	ARCH=$(dpkg --print-architecture)
	export SRC=$BATS_FILE_TMPDIR/src
	pkg_source "$SRC"
	cp -a "$SRC/packaging/debian" "$SRC/debian"
	# Rules-Requires-Root: no, so fakeroot is named but not needed: the
	# files are root's in the .deb all the same (dh_builddeb).
	(cd "$SRC" && dpkg-buildpackage -us -uc -b -rfakeroot -j2) >"$BATS_FILE_TMPDIR/deb.log" 2>&1 || {
		tail -n 40 "$BATS_FILE_TMPDIR/deb.log" >&2
		return 1
	}
	export DEB=$BATS_FILE_TMPDIR/hutch_${VERSION}_$ARCH.deb
}

teardown_file() {
	registry_stop
}

setup() {
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
}

teardown() {
	pkg_tree_remove "$BATS_TEST_TMPDIR/tree"
}

@test "dpkg-buildpackage -us -uc -b: the .deb holds the four programs and the AppArmor profile, and depends on what hutch dlopen()s" {
	[ -f "$DEB" ]
	grep -q "^dpkg-buildpackage: info: binary-only upload" "$BATS_FILE_TMPDIR/deb.log"
	# The unit tests ran in the build (override_dh_auto_test).
	grep -q "out/tests/test_ref" "$BATS_FILE_TMPDIR/deb.log"
	run dpkg-deb -c "$DEB"
	echo "$output"
	for f in ./usr/bin/hutch ./usr/bin/hutch-overlay ./usr/bin/hutch-net ./usr/bin/hutch-squashfs ./etc/apparmor.d/hutch; do
		grep -q "^-[rwx-]* root/root .* $f\$" <<<"$output"
	done
	run dpkg-deb -f "$DEB" Depends
	echo "$output"
	# libssl3: hutch-squashfs links libcrypto, and dpkg then keeps its
	# versioned libssl3 over control's "libssl3 | libssl3t64".
	for d in "libcurl4 | libcurl4t64" "libarchive13 | libarchive13t64" libssl3 libseccomp2 libfuse3-3 libslirp0 libyaml-0-2 libsquashfs1 libsquashfuse0; do
		[[ $output == *"$d"* ]]
	done
	# The profile is a conffile, loaded on installation (dh_apparmor).
	dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles | grep -qx /etc/apparmor.d/hutch
	dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./postinst | grep -q apparmor_parser
}

@test "the .deb installs with apt into a clean Debian tree; its hutch pulls, builds, runs -d -p the busybox image, answers, rm" {
	local rc=0
	pkg_debian_tar || rc=$?
	((rc != 2)) || skip "$PKG_NO_TAR"
	((rc == 0))
	registry_start "$BATS_FILE_TMPDIR/reg"
	pkg_push_busybox
	T=$BATS_TEST_TMPDIR/tree
	pkg_tree "$T"
	# apt fetches the libraries from Debian's mirror, as for any user;
	# apt's download sandbox user (_apt) does not exist in the namespace.
	cp -L /etc/resolv.conf "$T/etc/resolv.conf"
	cp "$DEB" "$T/root/"
	run tree_run "$T" root /bin/sh -c '
		export DEBIAN_FRONTEND=noninteractive
		apt-get -q -o APT::Sandbox::User=root update >/dev/null &&
		apt-get -q -y -o APT::Sandbox::User=root install --no-install-recommends "/root/$1" &&
		dpkg -s hutch libcurl4 libarchive13 | grep "^Status"' sh "$(basename "$DEB")"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^Status: install ok installed' <<<"$output")" -eq 3 ]
	[ -f "$T/etc/apparmor.d/hutch" ]
	pkg_context "$T/home/u/ctx" busybox
	cp "$HUTCH_TESTS/packaging/story.sh" "$T/home/u/story.sh"
	port=$(reg_free_port)
	run tree_run "$T" user busybox sh /home/u/story.sh /usr/bin/hutch "$REG/pkg/busybox:1" \
		/home/u/ctx "$port" built-by-hutch
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"story: answered: built-by-hutch"* ]]
	[[ $output == *"story: OK" ]]
}

@test "apparmor_parser -Q accepts packaging/apparmor/hutch, the profile the .deb installs, for /usr/bin/hutch" {
	command -v apparmor_parser || { echo "apparmor_parser is missing: apt-get install apparmor"; false; }
	mkdir "$BATS_TEST_TMPDIR/x"
	dpkg-deb -x "$DEB" "$BATS_TEST_TMPDIR/x"
	cmp "$BATS_TEST_TMPDIR/x/etc/apparmor.d/hutch" "$SRC/packaging/apparmor/hutch"
	# -Q: parse and compile, load nothing; -K: no cache. The includes
	# (tunables/global) are this machine's, /etc/apparmor.d.
	run apparmor_parser -Q -K "$SRC/packaging/apparmor/hutch"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output != *"error"* ]]
	run apparmor_parser -Q -K -N "$SRC/packaging/apparmor/hutch"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = hutch ]
	grep -q '^profile hutch /usr/bin/hutch flags=(unconfined) {$' "$SRC/packaging/apparmor/hutch"
}

@test "rpmbuild -bb builds the RPM from a source tarball (--nodeps: Debian's rpm cannot see dpkg's packages)" {
	command -v rpmbuild || { echo "rpmbuild is missing: apt-get install rpm"; false; }
	top=$BATS_TEST_TMPDIR/rpm
	mkdir -p "$top/SOURCES"
	pkg_source "$BATS_TEST_TMPDIR/hutch-$VERSION"
	tar -C "$BATS_TEST_TMPDIR" -czf "$top/SOURCES/hutch-$VERSION.tar.gz" "hutch-$VERSION"
	# --nodeps: BuildRequires are looked up in rpm's own database, which on
	# Debian knows none of the -dev packages dpkg installed. --nocheck: the
	# spec's %check runs the unit tests, which the .deb's build above ran.
	run rpmbuild --define "_topdir $top" --nodeps --nocheck -bb \
		"$BATS_TEST_TMPDIR/hutch-$VERSION/packaging/rpm/hutch.spec"
	echo "$output" | tail -n 30
	[ "$status" -eq 0 ]
	rpm=$(ls "$top"/RPMS/*/hutch-"$VERSION"-1*.rpm)
	run rpm -qpl "$rpm"
	echo "$output"
	for f in /usr/bin/hutch /usr/bin/hutch-overlay /usr/bin/hutch-net; do
		grep -qx "$f" <<<"$output"
	done
	run rpm -qpR "$rpm"
	echo "$output"
	grep -q '^libcurl(x86-64)$' <<<"$output"
	grep -q '^libarchive(x86-64)$' <<<"$output"
	grep -q '^libseccomp.so.2()(64bit)$' <<<"$output"
}

@test "the Spack recipe loads and depends on every library the Makefile links or hutch dlopen()s" {
	run python3 - "$SRC/packaging/spack/package.py" <<'PY'
import importlib.util, sys, types

# A stand-in for spack.package: it records what the recipe declares.
rec = {"versions": [], "deps": [], "make": []}
m = types.ModuleType("spack.package")
class MakefilePackage:
    pass
m.MakefilePackage = MakefilePackage
m.version = lambda v, **kw: rec["versions"].append(v)
m.depends_on = lambda s, **kw: rec["deps"].append(s)
m.license = lambda *a, **kw: None
m.conflicts = lambda *a, **kw: None
m.make = lambda *a, **kw: rec["make"].append(a)
sys.modules["spack"] = types.ModuleType("spack")
sys.modules["spack.package"] = m
spec = importlib.util.spec_from_file_location("hutch_recipe", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
pkg = mod.Hutch.__new__(mod.Hutch)
assert issubclass(mod.Hutch, MakefilePackage)
assert pkg.build_targets == ["all"], pkg.build_targets
pkg.install(None, "/opt/hutch")
assert rec["make"] == [("install", "PREFIX=/opt/hutch")], rec["make"]
print("versions", *rec["versions"])
print("deps", *rec["deps"])
PY
	echo "$output"
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "versions $VERSION"* ]]
	for d in libseccomp libcap jansson libfuse@3: libnl libslirp glib curl libarchive openssl@3:; do
		[[ " ${lines[1]} " == *" $d "* ]]
	done
}

@test "one version everywhere: the Makefile's, debian/changelog's, the RPM spec's, the Spack recipe's" {
	[ -n "$VERSION" ]
	[ "$(dpkg-parsechangelog -l "$SRC/packaging/debian/changelog" -S Version)" = "$VERSION" ]
	grep -qx "Version: *$VERSION" "$SRC/packaging/rpm/hutch.spec"
	grep -q "^ *version(\"$VERSION\")" "$SRC/packaging/spack/package.py"
	grep -q "^\* .* - $VERSION-1$" "$SRC/packaging/rpm/hutch.spec"
}
