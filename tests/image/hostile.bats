#!/usr/bin/env bats
# hostile.bats - registries that lie or break: tampered, oversized and
# truncated blobs, tampered manifests, failures; nothing unverified may
# reach the store

load ../lib/common
load ../lib/registry

setup_file() {
	reg_suite_start
}

teardown_file() {
	registry_stop
}

setup() {
	hutch_test_env
	export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
}

teardown() {
	proxy_stop
}

# unique_image NAME: an image with a layer of its own pushed as NAME:1;
# sets LAYER (its layer's digest) and MANIFEST (the manifest's).
unique_image() {
	local lay="$BATS_TEST_TMPDIR/oci" dir="$BATS_TEST_TMPDIR/rootfs" spec d s
	oci_init "$lay"
	cp -a "$IMG/base" "$dir"
	head -c 200000 /dev/urandom >"$dir/random"
	spec=$(oci_layer "$lay" "$dir" gzip)
	LAYER=${spec%% *}
	read -r d s <<<"$(oci_manifest "$lay" amd64 "$spec")"
	MANIFEST=$d
	oci_tag "$lay" t "$d" "$s"
	reg_push "$lay" t "$1:1"
}

# reg_data DIGEST: the registry's file for a blob.
reg_data() {
	local hex=${1#sha256:}
	echo "$REG_DIR/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# nothing_kept DIGEST NAME: the blob is not in the store, tmp/ is empty,
# no image is recorded under NAME.
nothing_kept() {
	[ ! -e "$HUTCH_ROOT/blobs/sha256/${1#sha256:}" ] &&
		store_tmp_empty && [ -z "$(ref_id "$2")" ] && store_consistent
}

@test "a tampered blob: refused naming it, nothing kept" {
	unique_image hostile/tamper
	local f
	f=$(reg_data "$LAYER")
	printf '\xff' | dd of="$f" bs=1 seek=1000 conv=notrunc status=none
	run "$HUTCH" pull "$REG/hostile/tamper:1"
	[ "$status" -eq 1 ]
	[[ ${lines[-1]} == "hutch: blob $LAYER does not match its digest (the content is sha256:"*"nothing was kept" ]]
	nothing_kept "$LAYER" "$REG/hostile/tamper:1"
}

@test "a blob longer than its manifest says: refused at the first extra byte" {
	unique_image hostile/long
	echo extra >>"$(reg_data "$LAYER")"
	run "$HUTCH" pull "$REG/hostile/long:1"
	[ "$status" -eq 1 ]
	[[ ${lines[-1]} == *"blob $LAYER is larger than the"*"bytes its manifest says"* ]]
	nothing_kept "$LAYER" "$REG/hostile/long:1"
}

@test "a tampered manifest: refused by digest and by tag" {
	unique_image hostile/man
	echo >>"$(reg_data "$MANIFEST")"
	run "$HUTCH" pull "$REG/hostile/man@$MANIFEST"
	[ "$status" -eq 1 ]
	[[ ${lines[-1]} == *"the manifest of $REG/hostile/man@$MANIFEST does not match its digest"* ]]
	run "$HUTCH" pull "$REG/hostile/man:1"
	[ "$status" -eq 1 ]
	[[ ${lines[-1]} == *"but the registry says $MANIFEST"* ]]
	nothing_kept "$LAYER" "$REG/hostile/man:1"
}

@test "a download that is always cut: retried, then refused; nothing kept" {
	proxy_start --truncate -1 --min-size 100000
	run "$HUTCH" pull "$PROXY/test/busybox:1"
	[ "$status" -eq 1 ]
	[[ ${lines[-1]} == *"failed 5 times, last: "* ]]
	local layer
	layer=$(jq -r '.layers[0].digest' <(skopeo inspect --raw --tls-verify=false "docker://$REG/test/busybox:1"))
	[ "$(grep -c "GET /v2/test/busybox/blobs/$layer" "$PROXY_LOG")" -eq 5 ]
	nothing_kept "$layer" "$PROXY/test/busybox:1"
}

@test "a download cut once resumes where it stopped, with a Range request" {
	proxy_start --truncate 1 --min-size 100000
	run "$HUTCH" pull -q "$PROXY/test/busybox:1"
	[ "$status" -eq 0 ]
	grep -q 'blobs/sha256:[0-9a-f]* auth=none range=bytes=[1-9][0-9]*-$' "$PROXY_LOG"
	store_consistent
	image_tree "$PROXY/test/busybox:1" "$BATS_TEST_TMPDIR/tree"
	same_tree "$BATS_TEST_TMPDIR/tree" "$IMG/base"
}

@test "503s are retried with backoff" {
	proxy_start --fail 2
	run "$HUTCH" pull -q "$PROXY/test/busybox:1"
	[ "$status" -eq 0 ]
	store_consistent
}

@test "a body corrupted on the way: refused, nothing kept" {
	proxy_start --corrupt -1
	run "$HUTCH" pull "$PROXY/test/layered:1"
	[ "$status" -eq 1 ]
	[[ ${lines[-1]} == *"does not match its digest"*"nothing was kept" ]]
	[ -z "$(ref_id "$PROXY/test/layered:1")" ]
	store_consistent
}

@test "a decompression bomb is refused by the size limit, and the failed pull leaves nothing it fetched" {
	local lay="$BATS_TEST_TMPDIR/oci" bomb="$BATS_TEST_TMPDIR/bomb" base spec d s
	oci_init "$lay"
	mkdir -p "$bomb"
	# 64 MiB of zeros: 64 KiB of gzip.
	head -c 64M /dev/zero >"$bomb/zeros"
	base=$(oci_layer "$lay" "$IMG/base" gzip)
	spec=$(oci_layer "$lay" "$bomb" gzip)
	read -r d s <<<"$(oci_manifest "$lay" amd64 "$base" "$spec")"
	oci_tag "$lay" t "$d" "$s"
	reg_push "$lay" t hostile/bomb:1
	HUTCH_MAX_LAYER_SIZE=8M run --separate-stderr "$HUTCH" pull -q "$REG/hostile/bomb:1"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "hutch: layer 2 (${spec%% *}) of $REG/hostile/bomb:1: layer ${spec%% *} unpacks to more than 8388608 bytes, the limit HUTCH_MAX_LAYER_SIZE sets; nothing of it was kept" ]]
	# Neither the bomb nor the base layer unpacked beside it, nor the
	# config: nothing but what a prune would leave.
	[ -z "$(ls -A "$HUTCH_ROOT/blobs/sha256")" ]
	[ -z "$(ls -A "$HUTCH_ROOT/layers")" ]
	[ -z "$(ls -A "$HUTCH_ROOT/leases")" ]
	[ -z "$(ref_id "$REG/hostile/bomb:1")" ]
	store_consistent
	# Without the cap the same image is pulled: the limit is the store's
	# free space, which 64 MiB fits.
	run "$HUTCH" pull -q "$REG/hostile/bomb:1"
	[ "$status" -eq 0 ]
}

@test "device nodes in a pulled layer and in an imported tarball: skipped, said once with their number and the first" {
	local lay="$BATS_TEST_TMPDIR/oci" tar="$BATS_TEST_TMPDIR/dev.tar" spec d s
	oci_init "$lay"
	# A layer with device nodes, written by Python's tarfile (mknod needs
	# root; a tar header does not).
	python3 - "$tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for name, kind, major, minor in (("dev", tarfile.DIRTYPE, 0, 0),
            ("dev/null", tarfile.CHRTYPE, 1, 3), ("dev/sda", tarfile.BLKTYPE, 8, 0),
            ("dev/zero", tarfile.CHRTYPE, 1, 5)):
        i = tarfile.TarInfo(name); i.type = kind; i.devmajor = major; i.devminor = minor
        i.mode = 0o755 if kind == tarfile.DIRTYPE else 0o666
        t.addfile(i)
    i = tarfile.TarInfo("etc/kept"); data = b"kept\n"; i.size = len(data)
    t.addfile(i, io.BytesIO(data))
PY
	local hex diff
	diff=sha256:$(sha256sum "$tar" | cut -d' ' -f1)
	gzip -n -c "$tar" >"$BATS_TEST_TMPDIR/dev.tgz"
	read -r d s <<<"$(oci_put "$lay" "$BATS_TEST_TMPDIR/dev.tgz")"
	spec="$d $s $diff application/vnd.oci.image.layer.v1.tar+gzip"
	read -r d s <<<"$(oci_manifest "$lay" amd64 "$(oci_layer "$lay" "$IMG/base" gzip)" "$spec")"
	oci_tag "$lay" t "$d" "$s"
	reg_push "$lay" t hostile/devices:1
	run --separate-stderr "$HUTCH" pull -q "$REG/hostile/devices:1"
	echo "$stderr"
	[ "$status" -eq 0 ]
	hex=${spec%% *}
	hex=${hex#sha256:}
	[ "$stderr" = "hutch: warning: layer ${hex:0:12}: skipped 3 device nodes (the first: /dev/null): a rootless container cannot have them, and gets its /dev from hutch" ]
	run "$HUTCH" run --rm "$REG/hostile/devices:1" cat /etc/kept
	[ "$output" = kept ]
	store_consistent
	# import says it the same way (it used to drop them without a word).
	run --separate-stderr "$HUTCH" import "$tar" devices:1
	[ "$status" -eq 0 ]
	[ "$stderr" = "hutch: warning: import: skipped 3 device nodes (the first: /dev/null): a rootless container cannot have them, and gets its /dev from hutch" ]
}
