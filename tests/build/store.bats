#!/usr/bin/env bats
# store.bats - builds and the store's clean-up: a prune during a build takes
# nothing the build uses, a killed build protects nothing, a build that is
# all cache gives the image it gave before

load ../lib/common

setup_file() {
	make_rootfs "$BATS_FILE_TMPDIR/rootfs"
}

setup() {
	hutch_test_env
	"$HUTCH" import "$BATS_FILE_TMPDIR/rootfs" base:1 >/dev/null
	C=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$C"
}

teardown() {
	# A build the test left running (it failed half-way), with its RUN.
	[ -z "${BPID:-}" ] || kill -9 -- "-$BPID" 2>/dev/null || true
	remove_store "$HUTCH_ROOT"
}

# clean_failure STATUS OUTPUT: a build that failed did so as hutch fails:
# exit 1, one line, nothing about the storage driver or /dev/fuse.
clean_failure() {
	[ "$1" -eq 1 ] && [ "$(wc -l <<<"$2")" -eq 1 ] &&
		[[ $2 == "hutch: "* ]] && [[ $2 != *fuse* ]] &&
		[[ $2 != *overlay* ]] && [[ $2 != *"storage driver"* ]]
}

@test "build and system prune -f in parallel: builds succeed or fail cleanly, the store stays consistent" {
	# Every round prunes at least once while its build runs (most rounds
	# several times), so the build cache and the unnamed image of the
	# round before are gone and each build makes its layers again under
	# the prunes. Without leases the first round already failed. 100
	# rounds cost about a minute of two cores' time (0.55 s of CPU a
	# round); HUTCH_PRUNE_ROUNDS=200 runs the issue's full count.
	local rounds=${HUTCH_PRUNE_ROUNDS:-100} i pid st out ok=0
	echo a >"$C/a"
	printf 'FROM base:1\nCOPY a /a\nARG N\nRUN echo $N >/n\n' >"$C/Dockerfile"
	for ((i = 1; i <= rounds; i++)); do
		"$HUTCH" build -q -t race:1 --build-arg N=$((i % 3)) "$C" \
			>"$BATS_TEST_TMPDIR/out" 2>&1 &
		pid=$!
		"$HUTCH" system prune -f >/dev/null
		while kill -0 "$pid" 2>/dev/null; do
			"$HUTCH" system prune -f >/dev/null
		done
		st=0
		wait "$pid" || st=$?
		out=$(cat "$BATS_TEST_TMPDIR/out")
		if [ "$st" -eq 0 ]; then
			ok=$((ok + 1))
		else
			echo "round $i: exit $st: $out"
			clean_failure "$st" "$out"
		fi
		run "$HUTCH" system check
		[ "$status" -eq 0 ] || { echo "round $i: $output"; false; }
		[ -z "$(ls -A "$HUTCH_ROOT/leases")" ]
	done
	echo "$ok of $rounds builds succeeded"
	[ "$ok" -eq "$rounds" ]
	run "$HUTCH" run --rm race:1 cat /a /n
	[ "$output" = "$(printf 'a\n%s' $((rounds % 3)))" ]
}

# count_layers: how many unpacked layers the store has.
count_layers() {
	ls -A "$HUTCH_ROOT/layers" | wc -l
}

@test "a prune during a build keeps what the build made; once the build is SIGKILLed, a prune takes it" {
	echo a >"$C/a"
	# The RUN is the build's long step; the test acts while it runs.
	printf 'FROM base:1\nCOPY a /a\nRUN sleep 60\n' >"$C/Dockerfile"
	setsid "$HUTCH" build "$C" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	BPID=$!
	wait_for 60 grep -q 'STEP 3/3' "$BATS_TEST_TMPDIR/out"
	# The COPY's layer (no image refers to it yet) and the base's.
	[ "$(count_layers)" -eq 2 ]
	run "$HUTCH" system prune -f
	[ "$status" -eq 0 ]
	[ "$(count_layers)" -eq 2 ]
	[ -n "$(ls -A "$HUTCH_ROOT/leases")" ]
	kill -9 -- "-$BPID"
	wait "$BPID" || true
	BPID=
	# Its lease died with it: the next prune deletes the layer and the
	# lease, and the store is as the build found it.
	run "$HUTCH" system prune -f
	[ "$status" -eq 0 ]
	[ "$(count_layers)" -eq 1 ]
	[ -z "$(ls -A "$HUTCH_ROOT/leases")" ]
	run "$HUTCH" system check
	[ "$status" -eq 0 ]
}

# dates ID: the dates and steps of image ID's history, from its config.
dates() {
	jq -r '.history[] | .created + " " + .created_by' "$HUTCH_ROOT/blobs/sha256/${1#sha256:}"
}

# later_than ID: the clock is past the second ID was made in.
later_than() {
	[ "$(date +%s)" -gt "$(date -d "$(jq -r .created "$HUTCH_ROOT/blobs/sha256/${1#sha256:}")" +%s)" ]
}

@test "a build that is all cache gives the same image id and leaves no <none> image; cached steps keep their dates" {
	local id1 h1 n
	echo a >"$C/a"
	printf 'FROM base:1\nENV A=1\nCOPY a /a\nRUN echo x >/x\nLABEL l=v\nCMD ["cat", "/a"]\n' >"$C/Dockerfile"
	run "$HUTCH" build -q -t same:1 "$C"
	[ "$status" -eq 0 ]
	id1=$output
	h1=$(dates "$id1")
	n=$("$HUTCH" images -q | wc -l)
	# Past the second of the first build, so that a date written anew
	# would differ.
	wait_for 5 later_than "$id1"
	run "$HUTCH" build -t same:1 "$C"
	[ "$status" -eq 0 ]
	[ "$(grep -c CACHED <<<"$output")" -eq 2 ]
	[ "${lines[-1]}" = "$id1" ]
	[ "$(dates "$id1")" = "$h1" ]
	[ "$("$HUTCH" images -q | wc -l)" -eq "$n" ]
	# A change at the end: the steps before it keep their dates.
	sed -i 's|"/a"]|"/x"]|' "$C/Dockerfile"
	run "$HUTCH" build -q -t same:2 "$C"
	[ "$status" -eq 0 ]
	[ "$output" != "$id1" ]
	[ "$(dates "$output" | head -n -1)" = "$(head -n -1 <<<"$h1")" ]
}
