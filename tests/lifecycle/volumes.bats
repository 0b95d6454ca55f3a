#!/usr/bin/env bats
# volumes.bats - volumes through the containers' lifecycle: anonymous ones
# (an image's VOLUME, -v /path) made per container and removed by --rm and
# rm -v, kept by rm; what system df counts and system prune removes

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
	# An image that declares VOLUME /data and has a file there.
	mkdir -p "$BATS_TEST_TMPDIR/img"
	cp -a "$R/." "$BATS_TEST_TMPDIR/img/"
	echo seed >"$BATS_TEST_TMPDIR/img/data/seed"
	"$HUTCH" import --config-json '{"Volumes":{"/data":{}},"Cmd":["sh"]}' \
		"$BATS_TEST_TMPDIR/img" volimg:1 >/dev/null
}

teardown() {
	"$HUTCH" ps -aq 2>/dev/null | xargs -r "$HUTCH" rm -f >/dev/null 2>&1 || true
	remove_store "$HUTCH_ROOT"
}

volumes() {
	"$HUTCH" volume ls -q | sort | tr '\n' ' '
}

# volume_at CONTAINER PATH: the name of the volume mounted there.
volume_at() {
	"$HUTCH" inspect -f '{{json .Mounts}}' "$1" |
		python3 -c 'import json, sys; print(*[m["Name"] for m in json.load(sys.stdin) if m["Destination"] == sys.argv[1]])' "$2"
}

@test "an image's VOLUME and -v /path get anonymous volumes: filled from the image, removed by --rm and rm -v, kept by rm" {
	"$HUTCH" run --name keep volimg:1 sh -c 'cat /data/seed; echo mine >/data/new' >"$BATS_TEST_TMPDIR/out"
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = seed ]
	anon=$(volume_at keep /data)
	[[ $anon =~ ^[0-9a-f]{64}$ ]]
	[ "$(volumes)" = "$anon " ]
	run "$HUTCH" volume inspect -f '{{json .Labels}}' "$anon"
	[ "$output" = '{"com.docker.volume.anonymous":""}' ]
	# The changes are in the volume, not in the container's root.
	[ "$(cat "$HUTCH_ROOT/volumes/$anon/_data/new")" = mine ]
	# rm keeps it (dangling until a prune), as Docker's does.
	"$HUTCH" rm keep >/dev/null
	[ "$("$HUTCH" volume ls -q --filter dangling=true)" = "$anon" ]
	# --rm takes its anonymous volumes along, the image's and -v /path's.
	run "$HUTCH" run --rm -v /scratch volimg:1 sh -c 'cat /data/seed; touch /scratch/x'
	[ "$status" -eq 0 ]
	[ "$output" = seed ]
	[ "$(volumes)" = "$anon " ]
	# So does rm -v; a named volume over the image's path replaces its
	# anonymous one, and rm -v keeps it.
	"$HUTCH" run --name two -v /scratch -v named:/data volimg:1 true
	[ "$(volumes | wc -w)" -eq 3 ]
	[ "$(cat "$HUTCH_ROOT/volumes/named/_data/seed")" = seed ]
	"$HUTCH" rm -v two >/dev/null
	[ "$(volumes)" = "$anon named " ]
}

@test "system df counts volumes; system prune keeps them unless --volumes, which takes unused anonymous ones" {
	"$HUTCH" volume create named >/dev/null
	"$HUTCH" run --name gone volimg:1 true
	"$HUTCH" run --name stays -v kept:/kept volimg:1 true
	run "$HUTCH" system df
	[ "$status" -eq 0 ]
	[[ $output =~ Local\ Volumes\ +4\ +3 ]]
	"$HUTCH" rm gone >/dev/null
	run "$HUTCH" system df
	[[ $output =~ Local\ Volumes\ +4\ +2 ]]
	# A running container keeps its own through every prune.
	"$HUTCH" rm stays >/dev/null
	"$HUTCH" run -d --name up -v kept:/kept volimg:1 sleep 1000 >/dev/null
	before=$(volumes)
	run "$HUTCH" system prune -f
	[ "$status" -eq 0 ]
	[[ $output != *"Deleted volumes"* ]]
	[ "$(volumes)" = "$before" ]
	run "$HUTCH" system prune -f --volumes
	[ "$status" -eq 0 ]
	[[ $output == *"Deleted volumes: 2"* ]]
	up_anon=$(volume_at up /data)
	[ "$(volumes)" = "$(printf '%s\n' "$up_anon" kept named | sort | tr '\n' ' ')" ]
	run "$HUTCH" volume prune -a -f
	[ "${lines[1]}" = named ]
	[ "$(volumes)" = "$(printf '%s\n' "$up_anon" kept | sort | tr '\n' ' ')" ]
}
