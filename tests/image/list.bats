#!/usr/bin/env bats
# list.bats - images REPOSITORY[:TAG] and images --filter, as Docker's:
# the operand and reference= select names, dangling=, label=, before= and
# since= select images; a bad filter or a second operand is refused

load ../lib/common

setup_file() {
	hutch_test_env
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store"
	R=$BATS_FILE_TMPDIR/rootfs
	make_rootfs "$R"
	"$HUTCH" import --config-json '{"Labels":{"team":"ml","tier":"gpu"}}' "$R" app:1 >/dev/null
	"$HUTCH" tag app:1 app:2
	"$HUTCH" tag app:1 registry.example:5000/team/app:1
	# A later image: created in a later second than app:1.
	t=$("$HUTCH" inspect -f '{{.Created}}' app:1)
	t=$(date -d "$t" +%s)
	clock_past() { (($(date +%s) > $1)); }
	wait_for 5 clock_past "$t"
	echo extra >"$R/etc/extra"
	"$HUTCH" import --config-json '{"Labels":{"team":"web"}}' "$R" web:1 >/dev/null
	# An untagged one: web:2's first image, once web:2 names another.
	"$HUTCH" import "$R" web:2 >/dev/null
	echo more >"$R/etc/more"
	"$HUTCH" import "$R" web:2 >/dev/null
}

teardown_file() {
	remove_store "$BATS_FILE_TMPDIR/store"
}

setup() {
	hutch_test_env
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store"
}

names() {
	run "$HUTCH" images --format '{{.Repository}}:{{.Tag}}' "$@"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	sorted=$(printf '%s\n' "${lines[@]}" | sort | tr '\n' ' ')
}

@test "images REPOSITORY[:TAG] lists that repository's tags only; a full name is the short one" {
	names app
	[ "$sorted" = "app:1 app:2 " ]
	names app:2
	[ "$sorted" = "app:2 " ]
	names docker.io/library/app
	[ "$sorted" = "app:1 app:2 " ]
	names registry.example:5000/team/app
	[ "$sorted" = "registry.example:5000/team/app:1 " ]
	names 'ap*'
	[ "$sorted" = "app:1 app:2 " ]
	names nothing-here
	[ "${#lines[@]}" -eq 0 ]
	run "$HUTCH" images app web
	[ "$status" -eq 125 ]
	[[ $output == *"one REPOSITORY[:TAG] at most"* ]]
}

@test "images --filter reference=, dangling=, label=, before=, since=" {
	names --filter 'reference=*/team/*'
	[ "$sorted" = "registry.example:5000/team/app:1 " ]
	names --filter reference=app:1 --filter reference=web:1
	[ "$sorted" = "app:1 web:1 " ]
	names --filter dangling=true
	[ "$sorted" = "<none>:<none> " ]
	names --filter dangling=false
	[[ $sorted != *"<none>"* ]]
	[[ $sorted == *"web:2"* ]]
	names --filter label=team=ml
	[ "$sorted" = "app:1 app:2 registry.example:5000/team/app:1 " ]
	names --filter label=tier
	[ "$sorted" = "app:1 app:2 registry.example:5000/team/app:1 " ]
	names --filter label=team --filter label=tier=cpu
	[ "${#lines[@]}" -eq 0 ]
	names --filter before=web:1
	[ "$sorted" = "app:1 app:2 registry.example:5000/team/app:1 " ]
	names --filter since=app:1 --filter dangling=false
	[[ $sorted == *"web:1"* && $sorted == *"web:2"* && $sorted != *app* ]]
	run "$HUTCH" images -q --filter reference=app
	[ "${#lines[@]}" -eq 1 ]
	[ "$output" = "$("$HUTCH" inspect -f '{{.Id}}' app:1 | cut -c8-19)" ]
}

@test "a bad --filter is one line naming it and the keys; an unknown image in before= too" {
	run "$HUTCH" images --filter colour=red
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *'invalid filter "colour=red"'*reference=PATTERN* ]]
	run "$HUTCH" images --filter dangling=maybe
	[ "$status" -eq 1 ]
	[[ $output == *"dangling takes true or false"* ]]
	run "$HUTCH" images --filter before=nosuch:1
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"no such image: nosuch:1"* ]]
}
