#!/usr/bin/env bats
# concurrency.bats - pulls at the same time, and pulls killed with SIGKILL
# at random points: each blob downloaded once, never a half-visible image

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

reopened_tmp_empty() {
	"$HUTCH" images >/dev/null 2>&1
	store_tmp_empty
}

@test "two pulls at once: both succeed, each blob is downloaded once" {
	proxy_start
	"$HUTCH" pull -q "$PROXY/test/layered:1" >"$BATS_TEST_TMPDIR/1.out" 2>&1 &
	local p1=$!
	"$HUTCH" pull -q "$PROXY/test/layered:1" >"$BATS_TEST_TMPDIR/2.out" 2>&1 &
	local p2=$! rc1=0 rc2=0 b
	wait "$p1" || rc1=$?
	wait "$p2" || rc2=$?
	cat "$BATS_TEST_TMPDIR"/*.out
	[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ]
	for b in $(skopeo inspect --raw --tls-verify=false "docker://$REG/test/layered:1" | jq -r '.layers[].digest'); do
		[ "$(grep -c "GET /v2/test/layered/blobs/$b" "$PROXY_LOG")" -eq 1 ]
	done
	store_consistent
	image_tree "$PROXY/test/layered:1" "$BATS_TEST_TMPDIR/tree"
	same_tree "$BATS_TEST_TMPDIR/tree" "$IMG/expected"
}

@test "SIGKILL at random points of pulls, then a clean pull: a complete image" {
	local i pid delay
	for i in $(seq 12); do
		"$HUTCH" pull -q "$REG/test/layered:1" >/dev/null 2>&1 &
		pid=$!
		# Not a synchronisation: the random moment of the kill.
		delay=$((RANDOM % 600))
		sleep "$(printf '0.%03d' "$delay")"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		# Whatever it left: every recorded image complete, blobs whole,
		# and tmp/ cleared by the next open once the pull's workers
		# (killed with it) are gone.
		wait_for 10 reopened_tmp_empty
		store_consistent
		if [ -n "$(ref_id "$REG/test/layered:1")" ]; then
			image_tree "$REG/test/layered:1" "$BATS_TEST_TMPDIR/tree.$i"
			same_tree "$BATS_TEST_TMPDIR/tree.$i" "$IMG/expected"
		fi
		# Start over now and then, to hit the early phases again.
		((i % 4)) || rm -rf "$HUTCH_ROOT"
	done
	run "$HUTCH" pull "$REG/test/layered:1"
	[ "$status" -eq 0 ]
	store_consistent
	image_tree "$REG/test/layered:1" "$BATS_TEST_TMPDIR/tree"
	same_tree "$BATS_TEST_TMPDIR/tree" "$IMG/expected"
}

# layers_at_least N: the store has N unpacked layers or more.
layers_at_least() {
	[ "$(ls -A "$HUTCH_ROOT/layers" 2>/dev/null | wc -l)" -ge "$1" ]
}

@test "a prune during a pull takes nothing the pull has fetched; the image is complete" {
	local top pid st=0
	top=$(skopeo inspect --raw --tls-verify=false "docker://$REG/test/layered:1" | jq -r '.layers[2].digest')
	# The top layer's blob waits for the test: the two below are in the
	# store, referenced by no image yet, while the prunes run.
	proxy_start --hold "$top:$BATS_TEST_TMPDIR/go"
	"$HUTCH" pull -q "$PROXY/test/layered:1" >"$BATS_TEST_TMPDIR/pull.out" 2>&1 &
	pid=$!
	wait_for 60 layers_at_least 2
	run "$HUTCH" system prune -a -f
	[ "$status" -eq 0 ]
	layers_at_least 2
	touch "$BATS_TEST_TMPDIR/go"
	wait "$pid" || st=$?
	cat "$BATS_TEST_TMPDIR/pull.out"
	[ "$st" -eq 0 ]
	run "$HUTCH" system check
	[ "$status" -eq 0 ]
	store_consistent
	image_tree "$PROXY/test/layered:1" "$BATS_TEST_TMPDIR/tree"
	same_tree "$BATS_TEST_TMPDIR/tree" "$IMG/expected"
	# Its lease went with it: now a prune may take everything.
	[ -z "$(ls -A "$HUTCH_ROOT/leases")" ]
	"$HUTCH" rmi "$PROXY/test/layered:1" >/dev/null
	run "$HUTCH" system prune -a -f
	[ -z "$(ls -A "$HUTCH_ROOT/layers")" ]
}
