# tests/lib/registry.bash - a real registry on 127.0.0.1 and OCI images
# made with shell tools, for the image suites. Load after ./common.
#
# registry_start starts Debian's docker-registry (the CNCF distribution
# registry) on a random free port, storing under a directory of the test,
# optionally behind htpasswd (bcrypt) authentication; registry_stop kills
# it by PID. Images are OCI image layouts built from busybox rootfs
# directories with tar, gzip/zstd, sha256sum and jq (no Docker anywhere),
# pushed with `skopeo copy oci:DIR:TAG docker://127.0.0.1:PORT/NAME:TAG`.
#
# Layers are made reproducibly (sorted names, owner 0/0, mtime 0, gzip -n),
# so a layer built twice has one digest.

REGPROXY="$HUTCH_TESTS/image/regproxy.py"

# reg_free_port: a TCP port nothing listens on at 127.0.0.1 right now.
reg_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# reg_answers URL: the registry API answers (200, or 401 behind auth).
reg_answers() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1/v2/") || return 1
	[ "$code" = 200 ] || [ "$code" = 401 ]
}

# registry_start DIR [HTPASSWD_FILE]: start a registry keeping its data
# in DIR/storage. Sets and exports REG (127.0.0.1:PORT), REG_PID, REG_DIR.
registry_start() {
	local dir=$1 htpasswd=${2:-} port try
	mkdir -p "$dir/storage"
	for try in 1 2 3; do
		port=$(reg_free_port)
		{
			printf 'version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n'
			printf 'storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n' "$dir/storage"
			printf '  maintenance:\n    uploadpurging:\n      enabled: false\n'
			printf 'http:\n  addr: 127.0.0.1:%s\n  secret: hutch-test-secret\n' "$port"
			if [ -n "$htpasswd" ]; then
				printf 'auth:\n  htpasswd:\n    realm: hutch-test\n    path: %s\n' "$htpasswd"
			fi
		} >"$dir/config.yml"
		docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null 3>&- &
		REG_PID=$!
		# Every registry of the file is listed, so registry_stop finds
		# those whose PID a failing setup_file never handed on.
		echo "$REG_PID" >>"$BATS_FILE_TMPDIR/registry.pids"
		if wait_for 20 reg_answers "http://127.0.0.1:$port"; then
			export REG="127.0.0.1:$port" REG_PID REG_DIR="$dir"
			return 0
		fi
		kill "$REG_PID" 2>/dev/null
		wait "$REG_PID" 2>/dev/null
	done
	echo "docker-registry did not start:" >&2
	cat "$dir/registry.log" >&2
	return 1
}

# registry_stop: stop the registries registry_start started in this file
# (teardown_file), by PID; a PID is only killed while it is still a
# docker-registry, never a process that reused the number.
registry_stop() {
	local pid
	[ -f "$BATS_FILE_TMPDIR/registry.pids" ] || return 0
	while read -r pid; do
		if grep -qs docker-registry "/proc/$pid/cmdline"; then
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done <"$BATS_FILE_TMPDIR/registry.pids"
	rm -f "$BATS_FILE_TMPDIR/registry.pids"
	REG_PID=
}

# reg_htpasswd FILE USER PASS: an htpasswd file with a bcrypt entry.
reg_htpasswd() {
	htpasswd -Bbc "$1" "$2" "$3" >/dev/null 2>&1
}

# ---- OCI image layouts ----------------------------------------------------

# oci_init DIR: an empty OCI image layout.
oci_init() {
	mkdir -p "$1/blobs/sha256"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$1/oci-layout"
	echo '{"schemaVersion":2,"manifests":[]}' >"$1/index.json"
}

# oci_put DIR FILE: move FILE into DIR's blobs; prints "sha256:HEX SIZE".
oci_put() {
	local hex size
	hex=$(sha256sum "$2" | cut -d' ' -f1)
	size=$(stat -c %s "$2")
	mv "$2" "$1/blobs/sha256/$hex"
	echo "sha256:$hex $size"
}

# oci_layer DIR SRC [gzip|zstd|none]: a layer of SRC's content; prints
# "DIGEST SIZE DIFF_ID MEDIATYPE".
oci_layer() {
	local dir=$1 src=$2 comp=${3:-gzip} tmp diff mt
	tmp=$(mktemp -p "$dir" layer.XXXXXX)
	(cd "$src" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort |
		tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 \
			--format=pax --pax-option=delete=atime,delete=ctime \
			-cf "$tmp.tar" -T -) || return 1
	diff=sha256:$(sha256sum "$tmp.tar" | cut -d' ' -f1)
	case $comp in
	gzip) gzip -n -c "$tmp.tar" >"$tmp"; mt=application/vnd.oci.image.layer.v1.tar+gzip ;;
	zstd) zstd -q -c "$tmp.tar" >"$tmp"; mt=application/vnd.oci.image.layer.v1.tar+zstd ;;
	none) cp "$tmp.tar" "$tmp"; mt=application/vnd.oci.image.layer.v1.tar ;;
	esac
	rm -f "$tmp.tar"
	echo "$(oci_put "$dir" "$tmp") $diff $mt"
}

# oci_manifest DIR ARCH LAYERSPEC...: the config and manifest of an image
# with these layers (lines from oci_layer); prints "DIGEST SIZE" of the
# manifest.
oci_manifest() {
	local dir=$1 arch=$2 spec diffs='[]' layers='[]' d s id mt cfg man
	shift 2
	for spec in "$@"; do
		read -r d s id mt <<<"$spec"
		diffs=$(jq -c --arg id "$id" '. + [$id]' <<<"$diffs")
		layers=$(jq -c --arg d "$d" --argjson s "$s" --arg mt "$mt" \
			'. + [{mediaType: $mt, digest: $d, size: $s}]' <<<"$layers")
	done
	cfg=$(mktemp -p "$dir" cfg.XXXXXX)
	jq -cn --arg arch "$arch" --argjson diffs "$diffs" '{
		created: "2024-01-02T03:04:05Z", architecture: $arch, os: "linux",
		config: {Env: ["PATH=/usr/local/bin:/usr/bin:/bin"], Cmd: ["/bin/sh"]},
		rootfs: {type: "layers", diff_ids: $diffs}}' >"$cfg"
	read -r d s <<<"$(oci_put "$dir" "$cfg")"
	man=$(mktemp -p "$dir" man.XXXXXX)
	jq -cn --arg d "$d" --argjson s "$s" --argjson layers "$layers" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $d, size: $s},
		layers: $layers}' >"$man"
	oci_put "$dir" "$man"
}

# oci_tag DIR TAG DIGEST SIZE [MEDIATYPE]: name a manifest or index in
# index.json.
oci_tag() {
	local mt=${5:-application/vnd.oci.image.manifest.v1+json}
	jq --arg t "$2" --arg d "$3" --argjson s "$4" --arg mt "$mt" \
		'.manifests += [{mediaType: $mt, digest: $d, size: $s,
		  annotations: {"org.opencontainers.image.ref.name": $t}}]' \
		"$1/index.json" >"$1/index.json.new" && mv "$1/index.json.new" "$1/index.json"
}

# oci_index DIR "DIGEST SIZE ARCH[/VARIANT]"...: an image index of
# manifests; prints "DIGEST SIZE".
oci_index() {
	local dir=$1 ents='[]' d s plat arch var idx
	shift
	for e in "$@"; do
		read -r d s plat <<<"$e"
		arch=${plat%%/*}
		var=
		[[ $plat == */* ]] && var=${plat#*/}
		ents=$(jq -c --arg d "$d" --argjson s "$s" --arg a "$arch" --arg v "$var" \
			'. + [{mediaType: "application/vnd.oci.image.manifest.v1+json",
			  digest: $d, size: $s,
			  platform: ({os: "linux", architecture: $a} +
				     (if $v == "" then {} else {variant: $v} end))}]' <<<"$ents")
	done
	idx=$(mktemp -p "$dir" idx.XXXXXX)
	jq -cn --argjson m "$ents" '{schemaVersion: 2,
		mediaType: "application/vnd.oci.image.index.v1+json", manifests: $m}' >"$idx"
	oci_put "$dir" "$idx"
}

# reg_push LAYOUT TAG NAME[:TAG] [SKOPEO_OPTION...]: copy an image (or, with
# --all, an index) from a layout to the test registry.
reg_push() {
	local layout=$1 tag=$2 name=$3
	shift 3
	skopeo copy --quiet --dest-tls-verify=false \
		${REG_CREDS:+--dest-creds "$REG_CREDS"} "$@" \
		"oci:$layout:$tag" "docker://$REG/$name" >/dev/null
}

# ---- the test images --------------------------------------------------------

# reg_rootfs DIR: a busybox root filesystem, its applet links made in one
# process (a fork per link takes seconds on a loaded machine).
reg_rootfs() {
	mkdir -p "$1"/{bin,etc,tmp,root,usr/bin}
	cp /bin/busybox "$1/bin/busybox"
	"$1/bin/busybox" --list | python3 -c '
import os, sys
for a in sys.stdin.read().split():
    p = os.path.join(sys.argv[1], "bin", a)
    if not os.path.lexists(p):
        os.symlink("busybox", p)' "$1"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$1/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$1/etc/group"
	chmod 1777 "$1/tmp"
}

# rootfs_base DIR: busybox with a few files the layer tests look at.
rootfs_base() {
	reg_rootfs "$1"
	mkdir -p "$1/etc/app" "$1/opt/data"
	echo base >"$1/etc/app/conf"
	echo gone >"$1/etc/app/old"
	echo one >"$1/opt/data/one"
	echo two >"$1/opt/data/two"
}

# Two layers over the base: the second deletes a file (.wh.old) and makes
# /opt/data opaque (.wh..wh..opq), replacing its content.
rootfs_upper1() {
	mkdir -p "$1/etc/app" "$1/usr/share"
	echo upper >"$1/etc/app/conf"
	echo added >"$1/usr/share/added"
}
rootfs_upper2() {
	mkdir -p "$1/etc/app" "$1/opt/data"
	: >"$1/etc/app/.wh.old"
	: >"$1/opt/data/.wh..wh..opq"
	echo three >"$1/opt/data/three"
}

# expected_tree DIR: what the three layers above give when stacked.
expected_tree() {
	cp -a "$(dirname "$1")/base" "$1"
	cp -a "$(dirname "$1")/u1/." "$1/"
	rm -f "$1/etc/app/old"
	rm -rf "$1/opt/data"
	mkdir -p "$1/opt/data"
	echo three >"$1/opt/data/three"
}

# build_images DIR: the layouts every image test uses, in DIR/oci:
#   busybox     one gzip layer (the base)
#   layered     base + upper1 + upper2 (whiteouts, opaque dir), gzip
#   zstd        base as a zstd layer + upper1 uncompressed
#   multi       an index: amd64 (= busybox) and arm64/v8 (a tiny layer)
build_images() {
	local dir=$1 lay="$1/oci" base u1 u2 tiny zbase plain m s d amd arm
	mkdir -p "$dir/base" "$dir/u1" "$dir/u2" "$dir/tiny"
	oci_init "$lay"
	rootfs_base "$dir/base"
	rootfs_upper1 "$dir/u1"
	rootfs_upper2 "$dir/u2"
	echo arm64 >"$dir/tiny/platform"
	base=$(oci_layer "$lay" "$dir/base" gzip)
	u1=$(oci_layer "$lay" "$dir/u1" gzip)
	u2=$(oci_layer "$lay" "$dir/u2" gzip)
	zbase=$(oci_layer "$lay" "$dir/base" zstd)
	plain=$(oci_layer "$lay" "$dir/u1" none)
	tiny=$(oci_layer "$lay" "$dir/tiny" gzip)
	read -r d s <<<"$(oci_manifest "$lay" amd64 "$base")"
	amd="$d $s amd64"
	oci_tag "$lay" busybox $d $s
	read -r d s <<<"$(oci_manifest "$lay" amd64 "$base" "$u1" "$u2")"
	oci_tag "$lay" layered $d $s
	read -r d s <<<"$(oci_manifest "$lay" amd64 "$zbase" "$plain")"
	oci_tag "$lay" zstd $d $s
	read -r d s <<<"$(oci_manifest "$lay" arm64 "$tiny")"
	arm="$d $s arm64/v8"
	read -r d s <<<"$(oci_index "$lay" "$amd" "$arm")"
	oci_tag "$lay" multi $d $s application/vnd.oci.image.index.v1+json
	expected_tree "$dir/expected"
}

# push_images: the layouts of build_images into the registry (REG).
push_images() {
	local lay=$1/oci
	reg_push "$lay" busybox test/busybox:1 &&
		reg_push "$lay" busybox test/busybox-v2s2:1 --format v2s2 &&
		reg_push "$lay" layered test/layered:1 &&
		reg_push "$lay" zstd test/zstd:1 &&
		reg_push "$lay" multi test/multi:1 --all
}

# ---- looking at a pulled image ----------------------------------------------

# store_tmp_empty: nothing left in the store's tmp/.
store_tmp_empty() {
	[ -z "$(ls -A "$HUTCH_ROOT/tmp" 2>/dev/null)" ]
}

# image_top_layer NAME: the unpacked tree of NAME's top layer is not the
# whole image; image_tree NAME DEST merges the layers the way an overlay
# would (whiteouts applied), with the store's records.
image_layers() {
	local id
	id=$(jq -r --arg n "$1" '.[$n] // empty' "$HUTCH_ROOT/refs.json")
	[ -n "$id" ] || return 1
	jq -r '.layers[].chain' "$HUTCH_ROOT/images/${id#sha256:}.json" | sed 's/^sha256://'
}

# image_tree NAME DEST: NAME's layers merged into DEST (whiteouts applied:
# 0/0 character devices and user.overlay.opaque, or OCI .wh. markers).
image_tree() {
	local name=$1 dest=$2 chain diff f
	mkdir -p "$dest"
	for chain in $(image_layers "$name"); do
		diff="$HUTCH_ROOT/layers/$chain/diff"
		[ -d "$diff" ] || return 1
		# Opaque directories first: their lower content goes.
		while IFS= read -r -d '' f; do
			f=${f#"$diff"/}
			if [ "$(getfattr --only-values -n user.overlay.opaque "$diff/$f" 2>/dev/null)" = y ] ||
				[ -e "$diff/$f/.wh..wh..opq" ]; then
				rm -rf "${dest:?}/$f"
			fi
		done < <(find "$diff" -mindepth 1 -type d -print0)
		(cd "$diff" && find . -mindepth 1 \( -type c -o -name '.wh.*' \) -print0) |
			while IFS= read -r -d '' f; do
				local b
				b=$(basename "$f")
				if [ "$b" = .wh..wh..opq ]; then
					continue
				elif [[ $b == .wh.* ]]; then
					rm -rf "${dest:?}/$(dirname "$f")/${b#.wh.}"
				else
					rm -rf "${dest:?}/$f"
				fi
			done
		(cd "$diff" && find . -mindepth 1 ! -type c ! -name '.wh.*' -print0 |
			tar --null --no-recursion -T - -cf -) |
			tar -C "$dest" -xf - || return 1
	done
}

# same_tree A B: the same paths, types, symlink targets and file contents.
same_tree() {
	diff <(cd "$1" && find . -printf '%y %p %l\n' | LC_ALL=C sort) \
		<(cd "$2" && find . -printf '%y %p %l\n' | LC_ALL=C sort) &&
		diff -r --no-dereference "$1" "$2"
}

# ---- suite set-up ------------------------------------------------------------

# reg_suite_start [HTPASSWD]: for setup_file: the test images built and
# pushed to a registry of the file's own. Exports IMG (the build dir).
reg_suite_start() {
	export IMG="$BATS_FILE_TMPDIR/img"
	build_images "$IMG" || return 1
	registry_start "$BATS_FILE_TMPDIR/reg" "$@" || return 1
	push_images "$IMG"
}

# reg_digest NAME: the manifest digest the registry has for NAME.
reg_digest() {
	skopeo inspect --raw --tls-verify=false "docker://$REG/$1" | sha256sum |
		sed 's/^/sha256:/; s/ .*//'
}

# ref_id NAME: the image id the store's names give NAME ("" if none).
ref_id() {
	jq -r --arg n "$1" '.[$n] // empty' "$HUTCH_ROOT/refs.json" 2>/dev/null
}

# store_consistent: every blob hashes to its name, tmp/ is empty, every
# recorded image's layers are unpacked (or its .sqsh is there).
store_consistent() {
	local f id
	for f in "$HUTCH_ROOT"/blobs/sha256/*; do
		[ -e "$f" ] || continue
		[ "$(sha256sum "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || {
			echo "blob $f does not match its name" >&2
			return 1
		}
	done
	store_tmp_empty || { echo "tmp/ is not empty: $(ls -A "$HUTCH_ROOT/tmp")" >&2; return 1; }
	for f in "$HUTCH_ROOT"/images/*.json; do
		[ -e "$f" ] || continue
		# In squashfs form: its file, not its layers (sqstore.bats).
		if [ "$(jq -r '.form // empty' "$f")" = squashfs ]; then
			id=$(basename "$f" .json)
			[ -f "$HUTCH_ROOT/squashfs-images/$id.sqsh" ] || {
				echo "$f: squashfs-images/$id.sqsh missing" >&2
				return 1
			}
			continue
		fi
		for id in $(jq -r '.layers[].chain' "$f" | sed 's/^sha256://'); do
			[ -d "$HUTCH_ROOT/layers/$id/diff" ] || {
				echo "$f: layer $id missing" >&2
				return 1
			}
		done
	done
}

# proxy_start ARGS...: regproxy.py in front of REG; sets PROXY
# (127.0.0.1:PORT), PROXY_PID and PROXY_LOG.
proxy_start() {
	local out="$BATS_TEST_TMPDIR/proxy.out"
	PROXY_LOG="$BATS_TEST_TMPDIR/proxy.log"
	: >"$PROXY_LOG"
	python3 "$REGPROXY" --upstream "$REG" --log "$PROXY_LOG" "$@" \
		>"$out" 2>&1 </dev/null 3>&- &
	PROXY_PID=$!
	wait_for 10 grep -q '^listening' "$out" || { cat "$out" >&2; return 1; }
	PROXY="127.0.0.1:$(sed -n 's/^listening //p' "$out")"
}

proxy_stop() {
	[ -n "${PROXY_PID:-}" ] || return 0
	kill "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
	PROXY_PID=
}
