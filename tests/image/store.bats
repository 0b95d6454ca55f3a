#!/usr/bin/env bats
# store.bats - import, images, tag, rmi, history, inspect, system df/prune/
# check: the store's own commands, without a registry

load ../lib/common

setup() {
	hutch_test_env
	R=$BATS_TEST_TMPDIR/rootfs
	make_rootfs "$R"
}

teardown() {
	remove_store "$HUTCH_ROOT"
}

@test "import a directory and a tarball; the images run" {
	run "$HUTCH" import --config-json '{"Cmd":["echo","from-config"]}' -m "made in a test" "$R" dir:1
	[ "$status" -eq 0 ]
	[[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
	run "$HUTCH" run --rm dir:1
	[ "$output" = from-config ]
	tar -C "$R" -czf "$BATS_TEST_TMPDIR/r.tgz" .
	run "$HUTCH" import "$BATS_TEST_TMPDIR/r.tgz" tgz:1
	[ "$status" -eq 0 ]
	run "$HUTCH" run --rm tgz:1 cat /etc/hostname
	[ "$status" -eq 0 ]
	run "$HUTCH" images --format '{{.Repository}}:{{.Tag}}'
	[[ $output == *dir:1* ]]
	[[ $output == *tgz:1* ]]
	run "$HUTCH" history dir:1
	[[ $output == *"made in a test"* ]]
	echo "not a tar" >"$BATS_TEST_TMPDIR/bad.tar"
	run "$HUTCH" import "$BATS_TEST_TMPDIR/bad.tar" bad:1
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "tag adds a name; rmi of one name untags; of the last, deletes and frees" {
	"$HUTCH" import "$R" base:1 >/dev/null
	run "$HUTCH" tag base:1 other:2
	[ "$status" -eq 0 ]
	run "$HUTCH" rmi other:2
	[ "$output" = "Untagged: other:2" ]
	run "$HUTCH" images -q
	[ "${#lines[@]}" -eq 1 ]
	run "$HUTCH" rmi base:1
	[ "$status" -eq 0 ]
	[[ $output == *"Deleted: sha256:"* ]]
	run "$HUTCH" images -q
	[ "$output" = "" ]
	[ -z "$(ls "$HUTCH_ROOT/layers")" ]
	run "$HUTCH" rmi base:1
	[ "$status" -eq 1 ]
	[[ $output == *"No such image: base:1"* ]]
	run "$HUTCH" tag nosuch:1 x:1
	[ "$status" -eq 1 ]
}

@test "rmi refuses an image a container uses, unless -f; the container keeps its layers" {
	"$HUTCH" import "$R" used:1 >/dev/null
	"$HUTCH" run --name user used:1 true
	run "$HUTCH" rmi used:1
	[ "$status" -eq 1 ]
	[[ $output == *"container"*"is using it"* ]]
	run "$HUTCH" rmi -f used:1
	[ "$status" -eq 0 ]
	run "$HUTCH" start -a user
	[ "$status" -eq 0 ]
}

@test "system df, check, and prune -f" {
	"$HUTCH" import "$R" keep:1 >/dev/null
	"$HUTCH" import "$R" gone:1 >/dev/null
	"$HUTCH" run --name stopped keep:1 true
	run "$HUTCH" system df
	[[ $output == *Images*2* ]]
	run "$HUTCH" system check
	[ "$status" -eq 0 ]
	[[ $output == *"consistent"* ]]
	run "$HUTCH" system prune -a -f
	[ "$status" -eq 0 ]
	[[ $output == *"Deleted containers: 1"* ]]
	run "$HUTCH" images -q
	[ "$output" = "" ]
	run "$HUTCH" system check
	[ "$status" -eq 0 ]
}

@test "system check finds a damaged blob" {
	"$HUTCH" import "$R" dmg:1 >/dev/null
	blob=$(ls "$HUTCH_ROOT/blobs/sha256" | head -n 1)
	chmod u+w "$HUTCH_ROOT/blobs/sha256/$blob"
	echo corrupt >>"$HUTCH_ROOT/blobs/sha256/$blob"
	run "$HUTCH" system check
	[ "$status" -eq 1 ]
	[[ $output == *"does not match its digest"* ]]
}

@test "inspect shows an image's config" {
	"$HUTCH" import --config-json '{"Env":["A=1"],"WorkingDir":"/srv"}' "$R" ins:1 >/dev/null
	run "$HUTCH" inspect -f '{{.Config.WorkingDir}} {{json .Config.Env}} {{.Os}}' ins:1
	[ "$output" = '/srv ["A=1"] linux' ]
	run "$HUTCH" inspect nosuch
	[ "$status" -eq 1 ]
	[[ $output == *"No such object: nosuch"* ]]
}
