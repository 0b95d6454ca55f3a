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
