# tests/packaging/lib.bash - helpers of the packaging suite: a writable copy
# of the source, a Debian minbase tree made and entered without root, and
# the two test images. Load after ../lib/common and ../lib/registry.

# pkg_source DEST: the source tree without build outputs. tests/run's copy
# has no .git (so no git archive) and is not writable by the test user.
pkg_source() {
	mkdir -p "$1"
	(cd "$HUTCH_TESTS/.." && tar --exclude=./.git --exclude=./out --exclude='./out-*' \
		--exclude='./build-*' --exclude=./tests/.work --exclude=./debian \
		--exclude=./hutch --exclude=./hutch-overlay --exclude=./hutch-net -cf - .) |
		tar -C "$1" -xf -
}

# pkg_version: the Makefile's VERSION.
pkg_version() {
	sed -n 's/^VERSION *:= *//p' "$HUTCH_TESTS/../Makefile"
}

# pkg_debian_tar: is the Debian minbase tarball there? tests/run, as root,
# makes it and passes HUTCH_TEST_DEBIAN_TAR (then a missing one is an
# error: 1); an ordinary user's run falls back to make demo's cache, or
# returns 2 (the caller skips).
pkg_debian_tar() {
	if [ -n "${HUTCH_TEST_DEBIAN_TAR:-}" ]; then
		[ -r "$HUTCH_TEST_DEBIAN_TAR" ] && return 0
		echo "the Debian base $HUTCH_TEST_DEBIAN_TAR is missing: see [prepare] in tests/run's output" >&2
		return 1
	fi
	HUTCH_TEST_DEBIAN_TAR=/var/cache/hutch-demo/debian-bookworm.tar
	[ -r "$HUTCH_TEST_DEBIAN_TAR" ] || return 2
	export HUTCH_TEST_DEBIAN_TAR
}

PKG_NO_TAR="no Debian minbase tarball: run tests/run as root, or set HUTCH_TEST_DEBIAN_TAR (examples/debian-base.sh makes one)"

# pkg_tree DIR: the Debian minbase tree, unpacked as root of a user
# namespace (uid 0 there is this user, so tar may set every mode). Owners
# are not kept (the tarball's groups 42 or 43 do not exist in that
# namespace) and device nodes are left out (mknod is not allowed there;
# enter-tree.sh binds the host's /dev). Adds busybox-static as
# /usr/local/bin/busybox (tools for enter-tree.sh and story.sh) and a home,
# /home/u.
pkg_tree() {
	local t=$1
	mkdir -p "$t"
	unshare -r tar -C "$t" --exclude='./dev/*' --no-same-owner -xf "$HUTCH_TEST_DEBIAN_TAR" ||
		return 1
	cp /bin/busybox "$t/usr/local/bin/busybox"
	mkdir -p "$t/home/u"
}

# pkg_tree_remove DIR: a tree and what hutch stored in it; its files are
# this user's, some without write permission (image layers), which root of
# a user namespace may override.
pkg_tree_remove() {
	[ -d "$1" ] || return 0
	unshare -r rm -rf "$1"
}

# tree_run TREE root|user CMD...: CMD inside TREE (enter-tree.sh says how),
# in a clean environment: HOME /root or /home/u, PATH with PKG_PATH first.
tree_run() {
	local t=$1 as=$2 home=/home/u
	shift 2
	[ "$as" = root ] && home=/root
	unshare -Urm "$HUTCH_TESTS/packaging/enter-tree.sh" "$t" "$as" \
		/usr/local/bin/busybox env -i HOME=$home USER=u LANG=C.UTF-8 \
		PATH="${PKG_PATH:+$PKG_PATH:}/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" "$@"
}

# pkg_push_busybox: a busybox image (one layer) in the test registry as
# $REG/pkg/busybox:1.
pkg_push_busybox() {
	local d=$BATS_FILE_TMPDIR/bb layer dg sz
	reg_rootfs "$d/rootfs" || return 1
	oci_init "$d/oci"
	layer=$(oci_layer "$d/oci" "$d/rootfs" gzip) || return 1
	read -r dg sz <<<"$(oci_manifest "$d/oci" amd64 "$layer")"
	oci_tag "$d/oci" busybox "$dg" "$sz"
	reg_push "$d/oci" busybox pkg/busybox:1
}

# pkg_push_debian: the Debian minbase tarball as the image
# $REG/pkg/debian:bookworm, imported and pushed by the hutch under test.
pkg_push_debian() {
	local store=$BATS_FILE_TMPDIR/pusher
	HUTCH_ROOT=$store HUTCH_RUNTIME=$BATS_FILE_TMPDIR/rt-pusher \
		"$HUTCH" import "$HUTCH_TEST_DEBIAN_TAR" "$REG/pkg/debian:bookworm" >/dev/null &&
		HUTCH_ROOT=$store HUTCH_RUNTIME=$BATS_FILE_TMPDIR/rt-pusher \
			"$HUTCH" push -q "$REG/pkg/debian:bookworm" >/dev/null || return 1
	HUTCH_ROOT=$store remove_store "$store"
}

# pkg_context DIR busybox|debian: a build context whose Dockerfile starts
# FROM @BASE@ (story.sh fills it in) and whose image serves, on port 8080,
# a page that its RUN step wrote: "built-by-hutch" (busybox's httpd), or
# "built-by-hutch on debian 12..." (a Perl server: Perl is in minbase).
pkg_context() {
	local c=$1
	mkdir -p "$c"
	case $2 in
	busybox)
		echo '<p>busybox image</p>' >"$c/index.html"
		cat >"$c/Dockerfile" <<'EOF'
FROM @BASE@
COPY index.html /www/index.html
RUN echo built-by-hutch >>/www/index.html
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
EOF
		;;
	debian)
		cat >"$c/serve.pl" <<'EOF'
use IO::Socket::INET;
my $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => 8080,
	Listen => 5, ReuseAddr => 1) or die "listen: $!\n";
while (my $c = $s->accept) {
	while (my $l = <$c>) { last if $l =~ /^\r?\n$/ }
	open(my $f, "<", "/srv/index.html") or die "index.html: $!\n";
	print $c "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n", <$f>;
	close $c;
}
EOF
		cat >"$c/Dockerfile" <<'EOF'
FROM @BASE@
COPY serve.pl /srv/serve.pl
RUN echo "built-by-hutch on debian $(cat /etc/debian_version)" >/srv/index.html
CMD ["perl", "/srv/serve.pl"]
EOF
		;;
	esac
}

# pkg_ldd_clean BUNDLE_LIB LDD_OUTPUT: every library in LDD_OUTPUT (ldd's
# lines) resolves inside BUNDLE_LIB or is one of glibc's own; none is
# missing. Prints the offending lines.
pkg_ldd_clean() {
	local lib=$1 bad
	bad=$(grep -vE "^[[:space:]]*(linux-vdso\.so\.1 |/lib64/ld-linux-x86-64\.so\.2 )" <<<"$2" |
		grep -vE "=> $lib/[^ ]+ \(0x" |
		grep -vE "^[[:space:]]*(libc|libm|libpthread|libdl|librt|libresolv)\.so\.[0-9]+ => /(usr/)?lib/x86_64-linux-gnu/" |
		grep -v '^[[:space:]]*$' || true)
	[ -z "$bad" ] || { echo "outside the bundle's lib/ and glibc: $bad"; return 1; }
}

# pkg_tls_registry DIR STORAGE: a second registry over TLS for the name
# reg.test, serving STORAGE (another registry's storage/, read here), its
# certificate signed by a CA of the test (DIR/ca.crt). Sets TLS_PORT.
pkg_tls_registry() {
	local d=$1 storage=$2 pid
	mkdir -p "$d"
	(cd "$d" &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj /CN=hutch-test-ca -keyout ca.key -out ca.crt &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-subj /CN=reg.test -keyout reg.key -out reg.csr &&
		printf 'subjectAltName=DNS:reg.test\nbasicConstraints=CA:FALSE\n' >ext &&
		openssl x509 -req -in reg.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-days 2 -extfile ext -out reg.crt) >"$d/openssl.log" 2>&1 ||
		{ cat "$d/openssl.log" >&2; return 1; }
	TLS_PORT=$(reg_free_port)
	{
		printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n'
		printf 'storage:\n  filesystem:\n    rootdirectory: %s\n' "$storage"
		printf '  maintenance:\n    uploadpurging:\n      enabled: false\n'
		printf 'http:\n  addr: 127.0.0.1:%s\n  secret: hutch-test-secret\n' "$TLS_PORT"
		printf '  tls:\n    certificate: %s\n    key: %s\n' "$d/reg.crt" "$d/reg.key"
	} >"$d/config.yml"
	docker-registry serve "$d/config.yml" >"$d/registry.log" 2>&1 </dev/null 3>&- &
	pid=$!
	echo "$pid" >>"$BATS_FILE_TMPDIR/registry.pids"
	wait_for 20 curl -sf -o /dev/null --cacert "$d/ca.crt" \
		--resolve "reg.test:$TLS_PORT:127.0.0.1" "https://reg.test:$TLS_PORT/v2/" ||
		{ cat "$d/registry.log" >&2; return 1; }
}
