#!/usr/bin/env bats
# pull.bats - `hutch pull` from a real registry: names, digests, manifest
# kinds, layer formats, platforms, Docker's output, proxies and mirrors

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

@test "pull by tag: Docker's lines, the name recorded, the layer unpacked" {
	run "$HUTCH" pull "$REG/test/busybox:1"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1: Pulling from test/busybox" ]
	[[ $output == *": Pull complete"* ]]
	[[ $output == *"Digest: $(reg_digest test/busybox:1)"* ]]
	[[ $output == *"Status: Downloaded newer image for $REG/test/busybox:1"* ]]
	[ "${lines[-1]}" = "$REG/test/busybox:1" ]
	[ -n "$(ref_id "$REG/test/busybox:1")" ]
	image_tree "$REG/test/busybox:1" "$BATS_TEST_TMPDIR/tree"
	same_tree "$BATS_TEST_TMPDIR/tree" "$IMG/base"
	store_consistent
}

@test "a second pull downloads nothing and says the image is up to date" {
	"$HUTCH" pull -q "$REG/test/layered:1"
	proxy_start
	run "$HUTCH" pull "$PROXY/test/layered:1"
	[ "$status" -eq 0 ]
	# A new name for the same registry: the blobs are all there already.
	! grep -q 'GET /v2/test/layered/blobs/' "$PROXY_LOG" || false
	[[ $output == *"Already exists"* ]]
	run "$HUTCH" pull "$PROXY/test/layered:1"
	[[ $output == *"Status: Image is up to date for $PROXY/test/layered:1"* ]]
}

@test "-q prints only the full name" {
	run "$HUTCH" pull -q "$REG/test/busybox:1"
	[ "$status" -eq 0 ]
	[ "$output" = "$REG/test/busybox:1" ]
}

@test "pull by digest: verified, recorded as name@digest, no tag made" {
	local d
	d=$(reg_digest test/busybox:1)
	run "$HUTCH" pull "$REG/test/busybox@$d"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$d: Pulling from test/busybox" ]
	[ "${lines[-1]}" = "$REG/test/busybox@$d" ]
	[ -n "$(ref_id "$REG/test/busybox@$d")" ]
	[ -z "$(ref_id "$REG/test/busybox:latest")" ]
	[ -z "$(ref_id "$REG/test/busybox:1")" ]
}

@test "a digest the registry does not have: not found, nothing stored" {
	run "$HUTCH" pull "$REG/test/busybox@sha256:$(printf '%064d' 0)"
	[ "$status" -eq 1 ]
	[[ $output == *"manifest for $REG/test/busybox@sha256:000"*"not found"* ]]
	[ -z "$(ls -A "$HUTCH_ROOT/images")" ]
}

@test "whiteouts and opaque directories across layers stack as Docker's would" {
	run "$HUTCH" pull "$REG/test/layered:1"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'Pull complete' <<<"$output")" -eq 3 ]
	image_tree "$REG/test/layered:1" "$BATS_TEST_TMPDIR/tree"
	same_tree "$BATS_TEST_TMPDIR/tree" "$IMG/expected"
	[ ! -e "$BATS_TEST_TMPDIR/tree/etc/app/old" ]
	[ "$(ls "$BATS_TEST_TMPDIR/tree/opt/data")" = three ]
	store_consistent
}

@test "zstd and uncompressed layers" {
	run "$HUTCH" pull "$REG/test/zstd:1"
	[ "$status" -eq 0 ]
	image_tree "$REG/test/zstd:1" "$BATS_TEST_TMPDIR/tree"
	[ "$(cat "$BATS_TEST_TMPDIR/tree/etc/app/conf")" = upper ]
	[ "$(cat "$BATS_TEST_TMPDIR/tree/usr/share/added")" = added ]
	[ -x "$BATS_TEST_TMPDIR/tree/bin/busybox" ]
}

@test "a Docker schema 2 manifest gives the same image as the OCI one" {
	"$HUTCH" pull -q "$REG/test/busybox:1"
	run "$HUTCH" pull "$REG/test/busybox-v2s2:1"
	[ "$status" -eq 0 ]
	[ "$(ref_id "$REG/test/busybox-v2s2:1")" = "$(ref_id "$REG/test/busybox:1")" ]
	# Its manifest is Docker's, kept byte for byte.
	local id
	id=$(ref_id "$REG/test/busybox-v2s2:1")
	[ "$(reg_digest test/busybox-v2s2:1)" != "$(reg_digest test/busybox:1)" ]
	[ -e "$HUTCH_ROOT/blobs/sha256/$(reg_digest test/busybox-v2s2:1 | cut -d: -f2)" ]
	[ -n "$id" ]
}

@test "a multi-platform index: the host's platform by default" {
	[ "$(uname -m)" = x86_64 ] || skip "the index's default entry is amd64; this host is $(uname -m)"
	run "$HUTCH" pull "$REG/test/multi:1"
	[ "$status" -eq 0 ]
	# The Digest line is the index's; the image is the amd64 one.
	[[ $output == *"Digest: $(reg_digest test/multi:1)"* ]]
	"$HUTCH" pull -q "$REG/test/busybox:1"
	[ "$(ref_id "$REG/test/multi:1")" = "$(ref_id "$REG/test/busybox:1")" ]
}

@test "--platform linux/arm64 picks the arm64 entry" {
	run "$HUTCH" pull --platform linux/arm64 "$REG/test/multi:1"
	[ "$status" -eq 0 ]
	image_tree "$REG/test/multi:1" "$BATS_TEST_TMPDIR/tree"
	[ "$(cat "$BATS_TEST_TMPDIR/tree/platform")" = arm64 ]
	run "$HUTCH" pull --platform linux/aarch64/v8 "$REG/test/multi:1"
	[ "$status" -eq 0 ]
}

@test "a platform the index lacks: one line naming what it has" {
	run "$HUTCH" pull --platform linux/s390x "$REG/test/multi:1"
	[ "$status" -eq 1 ]
	[[ ${lines[-1]} == *"no matching manifest for linux/s390x"*"(it has linux/amd64, linux/arm64/v8); choose one with --platform"* ]]
	run "$HUTCH" pull --platform linux/arm64/v7 "$REG/test/multi:1"
	[ "$status" -eq 1 ]
	run "$HUTCH" pull --platform arm64 "$REG/test/multi:1"
	[ "$status" -eq 1 ]
	[[ $output == *'invalid platform "arm64": use os/arch[/variant]'* ]]
	run "$HUTCH" pull --platform linux/arm64 "$REG/test/busybox:1"
	[ "$status" -eq 1 ]
	[[ $output == *"is an image for linux/amd64, not for the requested linux/arm64/v8"* ]]
}

@test "an unknown tag, a bad name, a registry that is not there: one clear line each" {
	run "$HUTCH" pull "$REG/test/busybox:nope"
	[ "$status" -eq 1 ]
	[[ ${lines[-1]} == "hutch: manifest for $REG/test/busybox:nope not found: manifest unknown"*"; check the name and the tag" ]]
	run "$HUTCH" pull "$REG/Test/busybox"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"repository name must be lowercase"* ]]
	run "$HUTCH" pull "127.0.0.1:$(reg_free_port)/x:1"
	[ "$status" -eq 1 ]
	[[ ${lines[-1]} == *"cannot reach registry 127.0.0.1:"*"Could"*"connect"*"check the name, the network and proxy settings"* ]]
	run "$HUTCH" pull
	[ "$status" -eq 125 ]
	[[ $output == *"requires exactly 1 argument"* ]]
	[ -z "$(ls -A "$HUTCH_ROOT/images")" ]
}

@test "on a terminal, layer lines are redrawn in place with a progress bar" {
	run script -qec "$HUTCH pull $REG/test/layered:1" /dev/null
	[ "$status" -eq 0 ]
	[[ $output == *$'\e['*A* ]]
	[[ $output == *"Downloading ["*"]"* ]]
	# Off a terminal: no escapes, no byte counts.
	run "$HUTCH" pull "$REG/test/zstd:1"
	[[ $output != *$'\e['* ]]
	[[ $output != *"Downloading ["* ]]
}

@test "blob downloads follow redirects (object storage) without our credentials" {
	proxy_start --redirect --bearer any:thing --anonymous
	run "$HUTCH" pull "$PROXY/test/layered:1"
	[ "$status" -eq 0 ]
	grep -q 'GET /v2/test/layered/manifests/1 auth=Bearer' "$PROXY_LOG"
	grep -q '^CDN auth=no' "$PROXY_LOG"
	! grep -q '^CDN auth=yes' "$PROXY_LOG" || false
	image_tree "$PROXY/test/layered:1" "$BATS_TEST_TMPDIR/tree"
	same_tree "$BATS_TEST_TMPDIR/tree" "$IMG/expected"
}

@test "HTTP_PROXY is honoured (in capitals too), NO_PROXY bypasses it" {
	proxy_start
	mkdir -p "$XDG_CONFIG_HOME/hutch"
	echo '{"registries": {"registry.invalid:5000": {"insecure": true}}}' \
		>"$XDG_CONFIG_HOME/hutch/registries.json"
	HTTP_PROXY="http://$PROXY" run "$HUTCH" pull -q registry.invalid:5000/test/busybox:1
	[ "$status" -eq 0 ]
	grep -q 'GET PROXY /v2/test/busybox/manifests/1' "$PROXY_LOG"
	http_proxy="http://$PROXY" NO_PROXY=registry.invalid run "$HUTCH" pull -q registry.invalid:5000/test/zstd:1
	[ "$status" -eq 1 ]
	! grep -q 'zstd' "$PROXY_LOG" || false
}

@test "mirrors from registries.json come first; a dead one is skipped" {
	local dead
	dead=$(reg_free_port)
	mkdir -p "$XDG_CONFIG_HOME/hutch"
	jq -n --arg m1 "http://127.0.0.1:$dead" --arg m2 "http://$REG" \
		'{registries: {"registry.invalid": {mirrors: [$m1, $m2]}}}' \
		>"$XDG_CONFIG_HOME/hutch/registries.json"
	run "$HUTCH" pull registry.invalid/test/busybox:1
	[ "$status" -eq 0 ]
	[[ $output == *"mirror http://127.0.0.1:$dead of registry.invalid failed"* ]]
	[ -n "$(ref_id registry.invalid/test/busybox:1)" ]
	# HUTCH_REGISTRIES_CONF names another file; a broken one is an error.
	echo '{"registries": ' >"$BATS_TEST_TMPDIR/broken.json"
	HUTCH_REGISTRIES_CONF="$BATS_TEST_TMPDIR/broken.json" run "$HUTCH" pull "$REG/test/busybox:1"
	[ "$status" -eq 1 ]
	[[ $output == *"the registries config $BATS_TEST_TMPDIR/broken.json is not a JSON object"* ]]
}

# hutch run IMAGE is another part's; skip while it cannot run even an
# imported busybox.
run_works() {
	"$HUTCH" run --help 2>&1 | grep -q IMAGE || return 1
	tar --owner=0 --group=0 --numeric-owner -C "$IMG/base" -cf "$BATS_TEST_TMPDIR/base.tar" . &&
		"$HUTCH" import "$BATS_TEST_TMPDIR/base.tar" imported:1 >/dev/null &&
		[ "$("$HUTCH" run --rm imported:1 echo ok 2>&1)" = ok ]
}

@test "the pulled image runs" {
	run_works || skip "hutch run IMAGE does not run an imported busybox either"
	"$HUTCH" pull -q "$REG/test/layered:1"
	run "$HUTCH" run --rm "$REG/test/layered:1" sh -c 'cat /etc/app/conf; ls /opt/data; ls /etc/app'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = upper ]
	[ "${lines[1]}" = three ]
	[ "${lines[2]}" = conf ]
}

@test "hutch run pulls a missing image, its progress on stderr" {
	run_works || skip "hutch run IMAGE does not run an imported busybox either"
	run --separate-stderr "$HUTCH" run --rm "$REG/test/layered:1" cat /etc/app/conf
	[ "$status" -eq 0 ]
	[ "$output" = upper ]
	[[ $stderr == *"1: Pulling from test/layered"*"Pull complete"* ]]
	[ -n "$(ref_id "$REG/test/layered:1")" ]
}
