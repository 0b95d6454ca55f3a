#!/usr/bin/env bats
# push.bats - `hutch push`: uploads, existing blobs, cross-repository
# mounts, chunked uploads, and round trips through a fresh store

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

# unique_tar FILE [KIB]: a busybox rootfs tarball with a file of random
# content (KIB KiB, default 1), so that its layer is new to the registry.
unique_tar() {
	local dir="$BATS_TEST_TMPDIR/rootfs.$RANDOM"
	cp -a "$IMG/base" "$dir"
	head -c "$((${2:-1} * 1024))" /dev/urandom >"$dir/random"
	tar --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$1" .
}

@test "push an imported image; skopeo and a fresh store see the same digest and tree" {
	unique_tar "$BATS_TEST_TMPDIR/app.tar"
	"$HUTCH" import "$BATS_TEST_TMPDIR/app.tar" "$REG/imp/app:1"
	run "$HUTCH" push "$REG/imp/app:1"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "The push refers to repository [$REG/imp/app]" ]
	[[ $output == *": Pushed"* ]]
	[[ ${lines[-1]} =~ ^1:\ digest:\ (sha256:[0-9a-f]{64})\ size:\ [0-9]+$ ]]
	local d=${BASH_REMATCH[1]} id
	[ "$(reg_digest imp/app:1)" = "$d" ]
	id=$(ref_id "$REG/imp/app:1")
	skopeo inspect --tls-verify=false "docker://$REG/imp/app:1" >"$BATS_TEST_TMPDIR/inspect.json"
	[ "$(jq -r '.Layers | length' "$BATS_TEST_TMPDIR/inspect.json")" -eq 1 ]
	image_tree "$REG/imp/app:1" "$BATS_TEST_TMPDIR/tree1"
	export HUTCH_ROOT="$BATS_TEST_TMPDIR/store2"
	run "$HUTCH" pull "$REG/imp/app:1"
	[ "$status" -eq 0 ]
	[[ $output == *"Digest: $d"* ]]
	[ "$(ref_id "$REG/imp/app:1")" = "$id" ]
	image_tree "$REG/imp/app:1" "$BATS_TEST_TMPDIR/tree2"
	same_tree "$BATS_TEST_TMPDIR/tree1" "$BATS_TEST_TMPDIR/tree2"
	cmp "$BATS_TEST_TMPDIR/tree2/random" "$BATS_TEST_TMPDIR"/rootfs.*/random
}

@test "pushing a pulled image back: every blob exists, the manifest is byte for byte the same" {
	"$HUTCH" pull -q "$REG/test/layered:1"
	proxy_start
	"$HUTCH" pull -q "$PROXY/test/layered:1"
	run "$HUTCH" push "$PROXY/test/layered:1"
	[ "$status" -eq 0 ]
	[ "$(grep -c ': Layer already exists' <<<"$output")" -eq 3 ]
	[[ ${lines[-1]} == "1: digest: $(reg_digest test/layered:1) size: "* ]]
	! grep -q 'POST /v2/test/layered/blobs/uploads' "$PROXY_LOG" || false
	grep -q 'PUT /v2/test/layered/manifests/1' "$PROXY_LOG"
}

@test "a blob the store knows under another repository is mounted, not uploaded" {
	unique_tar "$BATS_TEST_TMPDIR/m.tar"
	proxy_start
	"$HUTCH" import "$BATS_TEST_TMPDIR/m.tar" "$PROXY/mnt/one:1"
	"$HUTCH" import -m other "$BATS_TEST_TMPDIR/m.tar" "$PROXY/mnt/two:1"
	"$HUTCH" push -q "$PROXY/mnt/one:1"
	run "$HUTCH" push "$PROXY/mnt/two:1"
	[ "$status" -eq 0 ]
	[[ $output == *": Mounted from mnt/one"* ]]
	grep -q 'POST /v2/mnt/two/blobs/uploads/?mount=sha256:[0-9a-f]*&from=mnt/one' "$PROXY_LOG"
	# Only the config went up.
	[ "$(grep -c 'PUT /v2/mnt/two/blobs/uploads/' "$PROXY_LOG")" -eq 1 ]
	[ "$(reg_digest mnt/two:1)" = "$(jq -r '.manifest' "$HUTCH_ROOT/images/$(ref_id "$PROXY/mnt/two:1" | cut -d: -f2).json")" ]
}

@test "big blobs go up in PATCH chunks and come back whole" {
	unique_tar "$BATS_TEST_TMPDIR/big.tar" 3000
	proxy_start
	"$HUTCH" import "$BATS_TEST_TMPDIR/big.tar" "$PROXY/imp/big:1"
	HUTCH_PUSH_CHUNK_SIZE=1048576 run "$HUTCH" push "$PROXY/imp/big:1"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^PATCH /v2/imp/big/blobs/uploads/' "$PROXY_LOG")" -ge 5 ]
	export HUTCH_ROOT="$BATS_TEST_TMPDIR/store2"
	run "$HUTCH" pull "$REG/imp/big:1"
	[ "$status" -eq 0 ]
	store_consistent
}

@test "push refuses what it cannot push, in one line" {
	run "$HUTCH" push "$REG/nothing/here:1"
	[ "$status" -eq 1 ]
	[[ $output == "hutch: an image does not exist locally with the tag: $REG/nothing/here:1"* ]]
	run "$HUTCH" push "$REG/x@sha256:$(printf '%064d' 0)"
	[ "$status" -eq 1 ]
	[[ $output == *"push needs a tag"* ]]
	run "$HUTCH" push
	[ "$status" -eq 125 ]
}
