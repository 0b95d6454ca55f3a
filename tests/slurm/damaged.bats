#!/usr/bin/env bats
# damaged.bats - what a partial `rm -rf` of a container's directory leaves
# (the record gone, the upper dir with files of subordinate ids still
# there) is reported by `system check` and removed by `rm` and by
# `system prune`

load ../lib/common
load lib

setup_file() {
	slurm_probe || return 0
	make_rootfs "$(shared_rootfs)"
}

setup() {
	slurm_setup
}

teardown() {
	slurm_teardown
}

# damaged NAME: run container NAME to its end in a job, with files in its
# upper dir (of a subordinate id under the full mapping), then delete its
# record, and under the full mapping all that a user's `rm -rf` can before
# it stops at those files; prints the id.
damaged() {
	local id dir
	step "$HUTCH" run --name "$1" --rootfs "$R" --overlay -- sh -c \
		'mkdir -p /home/alice/d && echo data >/home/alice/d/f && chown -R 1000:1000 /home/alice/d 2>/dev/null; true' >&2
	id=$("$HUTCH" inspect -f '{{.Id}}' "$1")
	dir=$HUTCH_ROOT/containers/$id
	[ -d "$dir/upper/home/alice/d" ] || return 1
	rm -f "$dir"/*.json "$dir"/*.log
	if subids_available; then
		# What the user cannot delete by hand stays.
		rm -rf "$dir/upper" 2>/dev/null || true
		[ -d "$dir/upper/home/alice/d" ] || return 1
	fi
	echo "$id"
}

@test "a container directory without its record: system check reports it, rm removes it by id or by name" {
	id1=$(damaged dmg1)
	id2=$(damaged dmg2)
	run "$HUTCH" system check
	[ "$status" -ne 0 ] || { echo "system check: $output"; false; }
	[[ $output == *"${id1:0:12}"* ]] || { echo "system check does not name ${id1:0:12}: $output"; false; }
	run "$HUTCH" rm "$id1"
	[ "$status" -eq 0 ] || { echo "rm $id1: $output"; false; }
	[ ! -e "$HUTCH_ROOT/containers/$id1" ]
	run "$HUTCH" rm dmg2
	[ "$status" -eq 0 ] || { echo "rm dmg2: $output"; false; }
	[ ! -e "$HUTCH_ROOT/containers/$id2" ]
	# Their names are free again.
	"$HUTCH" run --rm --name dmg1 --rootfs "$R" -- true
	run "$HUTCH" system check
	[ "$status" -eq 0 ]
	assert_nothing_left "$BATS_TEST_TMPDIR"
}

@test "a container directory without its record: system prune removes it" {
	id=$(damaged dmg3)
	run "$HUTCH" system prune -f
	[ "$status" -eq 0 ]
	[ ! -e "$HUTCH_ROOT/containers/$id" ] || { echo "prune left: $(ls -A "$HUTCH_ROOT/containers/$id")"; false; }
	run "$HUTCH" system check
	[ "$status" -eq 0 ]
	assert_nothing_left "$BATS_TEST_TMPDIR"
}
