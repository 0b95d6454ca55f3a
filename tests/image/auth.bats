#!/usr/bin/env bats
# auth.bats - registries that want credentials: htpasswd (Basic) and a
# bearer-token realm; hutch login/logout and the credential files

load ../lib/common
load ../lib/registry

setup_file() {
	export IMG="$BATS_FILE_TMPDIR/img"
	build_images "$IMG"
	reg_htpasswd "$BATS_FILE_TMPDIR/htpasswd" alice 'c0rrect horse'
	registry_start "$BATS_FILE_TMPDIR/reg" "$BATS_FILE_TMPDIR/htpasswd"
	REG_CREDS='alice:c0rrect horse' reg_push "$IMG/oci" busybox test/busybox:1
	local reg=$REG pid=$REG_PID
	# An open registry behind a bearer-token front (regproxy.py).
	registry_start "$BATS_FILE_TMPDIR/open"
	reg_push "$IMG/oci" busybox test/busybox:1
	export OPEN_REG=$REG OPEN_PID=$REG_PID REG=$reg REG_PID=$pid
}

teardown_file() {
	registry_stop
}

setup() {
	hutch_test_env
	export HOME="$BATS_TEST_TMPDIR/home" XDG_CONFIG_HOME=
	mkdir -p "$HOME"
	unset REGISTRY_AUTH_FILE DOCKER_CONFIG
	AUTH="$HOME/.config/hutch/auth.json"
}

teardown() {
	proxy_stop
}

login() {
	printf '%s\n' "$2" | "$HUTCH" login -u "$1" --password-stdin "${3:-$REG}"
}

@test "without credentials a pull is refused with the fix, and nothing is stored" {
	run "$HUTCH" pull "$REG/test/busybox:1"
	[ "$status" -eq 1 ]
	[[ ${lines[-1]} == "hutch: pull access denied for $REG/test/busybox:1: "*"run 'hutch login $REG'"* || ${lines[-1]} == *"needs 'hutch login $REG'"* ]]
	[ -z "$(ls -A "$HUTCH_ROOT/images")" ]
}

@test "a wrong password: a clear refusal, nothing written, the password never shown" {
	run login alice 'wr0ng pass'
	[ "$status" -eq 1 ]
	[[ $output == *"$REG refused the credentials of \"alice\": incorrect username or password"* ]]
	[[ $output != *"wr0ng"* ]]
	[ ! -e "$AUTH" ]
}

@test "login, pull, logout" {
	run login alice 'c0rrect horse'
	[ "$status" -eq 0 ]
	[ "$output" = "Login Succeeded" ]
	[ "$(stat -c %a "$AUTH")" = 600 ]
	[ "$(stat -c %a "$(dirname "$AUTH")")" = 700 ]
	[ "$(jq -r --arg r "$REG" '.auths[$r].auth' "$AUTH" | base64 -d)" = 'alice:c0rrect horse' ]
	! grep -q 'c0rrect' "$AUTH" || false
	run "$HUTCH" pull -q "$REG/test/busybox:1"
	[ "$status" -eq 0 ]
	run "$HUTCH" logout "$REG"
	[ "$status" -eq 0 ]
	[ "$output" = "Removing login credentials for $REG" ]
	[ "$(jq '.auths | length' "$AUTH")" -eq 0 ]
	run "$HUTCH" pull -q "$REG/test/busybox:1"
	[ "$status" -eq 1 ]
	run "$HUTCH" logout "$REG"
	[ "$output" = "Not logged in to $REG" ]
}

@test "login keeps the other entries and keys of auth.json; any server spelling" {
	mkdir -p "$(dirname "$AUTH")"
	echo '{"auths": {"other.example:5000": {"auth": "eDp5"}}, "psFormat": "x"}' >"$AUTH"
	login alice 'c0rrect horse' "http://$REG/v2/"
	[ "$(jq -r '.auths["other.example:5000"].auth' "$AUTH")" = eDp5 ]
	[ "$(jq -r .psFormat "$AUTH")" = x ]
	[ "$(jq -r --arg r "$REG" '.auths[$r] | length' "$AUTH")" -eq 1 ]
	"$HUTCH" pull -q "$REG/test/busybox:1"
	run "$HUTCH" logout "https://$REG"
	[ "$output" = "Removing login credentials for $REG" ]
	[ "$(jq -r '.auths["other.example:5000"].auth' "$AUTH")" = eDp5 ]
}

@test "-p works with Docker's warning; bad combinations are refused" {
	run "$HUTCH" login -u alice -p 'c0rrect horse' "$REG"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "WARNING! Using --password via the CLI is insecure. Use --password-stdin." ]
	[ "${lines[1]}" = "Login Succeeded" ]
	run "$HUTCH" login --password-stdin "$REG" </dev/null
	[ "$status" -eq 125 ]
	[[ $output == *"--password-stdin needs --username"* ]]
	run "$HUTCH" login -u alice -p x --password-stdin "$REG" </dev/null
	[ "$status" -eq 125 ]
	[[ $output == *"mutually exclusive"* ]]
	run "$HUTCH" login -u alice "$REG" </dev/null
	[ "$status" -eq 1 ]
	[[ $output == *"cannot perform an interactive login from a non TTY device"* ]]
}

@test "credentials from Docker's config.json and from REGISTRY_AUTH_FILE" {
	mkdir -p "$HOME/.docker"
	jq -n --arg r "http://$REG" --arg a "$(printf 'alice:c0rrect horse' | base64)" \
		'{auths: {($r): {auth: $a}}}' >"$HOME/.docker/config.json"
	run "$HUTCH" pull -q "$REG/test/busybox:1"
	[ "$status" -eq 0 ]
	rm "$HOME/.docker/config.json"
	rm -rf "$HUTCH_ROOT"
	run "$HUTCH" pull -q "$REG/test/busybox:1"
	[ "$status" -eq 1 ]
	jq -n --arg r "$REG" '{auths: {($r): {username: "alice", password: "c0rrect horse"}}}' \
		>"$BATS_TEST_TMPDIR/podman-auth.json"
	REGISTRY_AUTH_FILE="$BATS_TEST_TMPDIR/podman-auth.json" run "$HUTCH" pull -q "$REG/test/busybox:1"
	[ "$status" -eq 0 ]
}

@test "a push without credentials is refused with the fix" {
	login alice 'c0rrect horse'
	"$HUTCH" pull -q "$REG/test/busybox:1"
	"$HUTCH" logout "$REG"
	run "$HUTCH" push "$REG/test/busybox:1"
	[ "$status" -eq 1 ]
	[[ ${lines[-1]} == *"run 'hutch login $REG'"* ]]
}

@test "bearer tokens: refused without login, fetched with the credentials, per scope" {
	REG=$OPEN_REG proxy_start --bearer 'bob:t0ken pass'
	run "$HUTCH" pull "$PROXY/test/busybox:1"
	[ "$status" -eq 1 ]
	[[ ${lines[-1]} == *"$PROXY requires authentication"*"run 'hutch login $PROXY'"* ]]
	run login bob 'nope' "$PROXY"
	[ "$status" -eq 1 ]
	[[ $output == *"incorrect username or password"* ]]
	run login bob 't0ken pass' "$PROXY"
	[ "$status" -eq 0 ]
	run "$HUTCH" pull -q "$PROXY/test/busybox:1"
	[ "$status" -eq 0 ]
	grep -q 'TOKEN scope=service=hutch-test&scope=repository%3Atest%2Fbusybox%3Apull' "$PROXY_LOG"
	# One token serves the manifest and every blob of the pull.
	[ "$(grep -c '^TOKEN' "$PROXY_LOG")" -eq 2 ]
}

@test "anonymous bearer tokens, as Docker Hub gives them" {
	REG=$OPEN_REG proxy_start --bearer 'x:y' --anonymous
	run "$HUTCH" pull -q "$PROXY/test/busybox:1"
	[ "$status" -eq 0 ]
	grep -q '^TOKEN scope=.*repository%3Atest%2Fbusybox%3Apull' "$PROXY_LOG"
	grep -q 'GET /token.* auth=none' "$PROXY_LOG"
}
