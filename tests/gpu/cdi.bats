#!/usr/bin/env bats
# cdi.bats - --device VENDOR/CLASS=NAME through CDI specs: a test vendor
# whose device nodes are harmless host nodes, in YAML and JSON, with env,
# mounts, hooks and additionalGids; the later directory wins; a malformed
# spec is skipped with a warning naming the file and the field

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
	D=$BATS_TEST_TMPDIR
	mkdir -p "$D/etc-cdi" "$D/run-cdi" "$D/share"
	echo "vendor data" >"$D/share/data.txt"
	# A createContainer hook: the host's program, in the container's
	# namespaces, before the root is entered. It finds the root through
	# the bundle's config.json, as nvidia-ctk's hooks do.
	cat >"$D/hook.sh" <<-'HOOK'
	#!/bin/sh
	state=$(cat)
	bundle=$(echo "$state" | sed 's/.*"bundle": *"\([^"]*\)".*/\1/')
	root=$(sed 's/.*"root": *{"path": *"\([^"]*\)".*/\1/' "$bundle/config.json")
	echo "created $1 $HOOK_VAR" >"$root/dev/hook-ran"
	HOOK
	chmod +x "$D/hook.sh"
	cat >"$D/etc-cdi/test.yaml" <<-EOF
	cdiVersion: "0.6.0"
	kind: hutch.test/dev
	containerEdits:
	  env: ["TEST_VENDOR=yes"]
	devices:
	  - name: one
	    containerEdits:
	      env:
	        - TEST_ONE=1
	        - TEST_WHO=yaml
	      deviceNodes:
	        - path: /dev/hutch-one
	          hostPath: /dev/null
	          permissions: rw
	        - path: /dev/hutch-zero
	          hostPath: /dev/zero
	      mounts:
	        - hostPath: $D/share
	          containerPath: /opt/vendor
	          options: [ro, nosuid, bind]
	      hooks:
	        - hookName: createContainer
	          path: $D/hook.sh
	          args: [hook.sh, one]
	          env: [HOOK_VAR=from-spec]
	        - hookName: startContainer
	          path: /bin/sh
	          args: [sh, -c, "echo started >/dev/start-ran"]
	      additionalGids: [$(id -g)]
	  - name: two
	    containerEdits:
	      deviceNodes:
	        - path: /dev/hutch-two
	          hostPath: /dev/full
	EOF
	export HUTCH_CDI_SPEC_DIRS="$D/etc-cdi:$D/run-cdi"
}

@test "a YAML spec's device: nodes, env, a read-only mount and both hooks" {
	run "$HUTCH" run --rootfs "$R" --device hutch.test/dev=one -- sh -c '
		[ -c /dev/hutch-one ] && [ -c /dev/hutch-zero ] || exit 3
		head -c 2 /dev/hutch-zero | od -An -tx1
		echo "$TEST_VENDOR $TEST_ONE $TEST_WHO"
		cat /opt/vendor/data.txt
		touch /opt/vendor/x 2>/dev/null && echo writable
		cat /dev/hook-ran /dev/start-ran
		[ -e /dev/.hutch-bundle ] && echo bundle-left; true'
	[ "$status" -eq 0 ]
	[ "$(echo ${lines[0]})" = "00 00" ]
	[ "${lines[1]}" = "yes 1 yaml" ]
	[ "${lines[2]}" = "vendor data" ]
	[ "${lines[3]}" = "created one from-spec" ]
	[ "${lines[4]}" = "started" ]
	[ "${#lines[@]}" -eq 5 ]
}

@test "-e wins over a spec's variable; =all applies every device once" {
	run "$HUTCH" run --rootfs "$R" -e TEST_WHO=user --device hutch.test/dev=all -- \
		sh -c 'echo $TEST_WHO; ls /dev | grep -c hutch-; env | grep -c TEST_VENDOR='
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "user" ]
	[ "${lines[1]}" = "3" ]
	[ "${lines[2]}" = "1" ]
}

@test "a JSON spec in a later directory wins over the YAML one" {
	cat >"$D/run-cdi/test.json" <<-'EOF'
	{"cdiVersion": "0.5.0", "kind": "hutch.test/dev",
	 "devices": [{"name": "one", "containerEdits": {
	   "env": ["TEST_WHO=json"],
	   "deviceNodes": [{"path": "/dev/hutch-json", "hostPath": "/dev/zero"}]}}]}
	EOF
	run "$HUTCH" run --rootfs "$R" --device hutch.test/dev=one -- \
		sh -c 'echo $TEST_WHO; ls /dev | grep hutch-'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "json" ]
	[ "${lines[1]}" = "hutch-json" ]
	[ "${#lines[@]}" -eq 2 ]
	# --cdi-spec-dir replaces the variable's directories
	run "$HUTCH" run --rootfs "$R" --cdi-spec-dir "$D/etc-cdi" \
		--device hutch.test/dev=two -- sh -c 'ls /dev | grep hutch-'
	[ "$status" -eq 0 ]
	[ "$output" = "hutch-two" ]
}

@test "malformed specs are skipped with one warning naming the file and the field; a device only they define is refused, rc 125" {
	printf 'cdiVersion: "0.6.0"\nkind: hutch.bad/dev\ndevices:\n  - name: x\n    containerEdits:\n      deviceNodes:\n        - hostPath: /dev/null\n' >"$D/run-cdi/bad.yaml"
	# The good spec's device still applies; the broken file is named.
	run "$HUTCH" run --rm --rootfs "$R" --device hutch.test/dev=one -- sh -c 'echo "vendor=$TEST_VENDOR"'
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: skipped: CDI spec $D/run-cdi/bad.yaml: devices[0].containerEdits.deviceNodes[0].path is missing; fix or remove"* ]]
	[[ "$output" == *"vendor=yes"* ]]
	# Its own device: refused in one line that names the skipped file.
	run "$HUTCH" run --rm --rootfs "$R" --device hutch.bad/dev=x -- true
	[ "$status" -eq 125 ]
	[[ "${lines[-1]}" == *"--device hutch.bad/dev=x: no usable CDI spec in "*"; 1 spec file(s) were skipped, the first: CDI spec $D/run-cdi/bad.yaml: devices[0].containerEdits.deviceNodes[0].path is missing"* ]]

	printf 'cdiVersion: "0.6.0"\nkind: [unclosed\n' >"$D/run-cdi/bad.yaml"
	run "$HUTCH" run --rm --rootfs "$R" --device hutch.test/dev=one -- true
	[ "$status" -eq 0 ]
	[[ "$output" == *"skipped: CDI spec $D/run-cdi/bad.yaml is not valid YAML (line "* ]]

	rm "$D/run-cdi/bad.yaml"
	echo '{"cdiVersion": "0.6.0", "kind": "hutch.bad/dev", "devices": [{"name": "x", "containerEdits": {"mounts": [{"hostPath": "/tmp", "containerPath": 7}]}}]}' >"$D/run-cdi/bad.json"
	run "$HUTCH" run --rm --rootfs "$R" --device hutch.bad/dev=x -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"CDI spec $D/run-cdi/bad.json: devices[0].containerEdits.mounts[0].containerPath is not a non-empty string"* ]]
	# hutch info lists it as skipped.
	run "$HUTCH" info
	[[ "$output" == *"skipped: CDI spec $D/run-cdi/bad.json: devices[0].containerEdits.mounts[0].containerPath is not a non-empty string"* ]]
}

@test "an unknown device, a failing hook and a poststop hook are named" {
	run "$HUTCH" run --rootfs "$R" --device hutch.test/dev=three -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"--device hutch.test/dev=three: no CDI spec in $D/etc-cdi:$D/run-cdi defines it"* ]]

	cat >"$D/run-cdi/hooks.yaml" <<-EOF
	cdiVersion: "0.6.0"
	kind: hutch.test/hook
	devices:
	  - name: fails
	    containerEdits:
	      hooks:
	        - {hookName: createContainer, path: /bin/false}
	  - name: late
	    containerEdits:
	      hooks:
	        - {hookName: poststop, path: /bin/true}
	EOF
	run "$HUTCH" run --rootfs "$R" --device hutch.test/hook=fails -- echo ran
	[ "$status" -eq 125 ]
	[[ "$output" == *"CDI hook /bin/false (createContainer) failed (exit status 1)"* ]]
	[[ "$output" != *ran* ]]
	run "$HUTCH" run --rootfs "$R" --device hutch.test/hook=late -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"hook /bin/true (poststop) cannot run"* ]]
}

@test "additionalGids: a group the caller lacks is named in a warning" {
	cat >"$D/run-cdi/gid.yaml" <<-EOF
	cdiVersion: "0.6.0"
	kind: hutch.test/gid
	devices:
	  - name: g
	    containerEdits:
	      additionalGids: [4242420]
	EOF
	run "$HUTCH" run --rootfs "$R" --device hutch.test/gid=g -- echo ran
	[ "$status" -eq 0 ]
	[[ "$output" == *"asks for group 4242420, which you are not in"* ]]
	[[ "$output" == *ran* ]]
	# the caller's own group (in test.yaml's device one): no warning
	run "$HUTCH" run --rootfs "$R" --device hutch.test/dev=one -- echo ran
	[ "$status" -eq 0 ]
	[ "$output" = ran ]
}

@test "a created container keeps its CDI edits and hooks for start" {
	run "$HUTCH" create --name cdikept --rootfs "$R" --device hutch.test/dev=one -- \
		sh -c 'echo "$TEST_ONE"; cat /dev/hook-ran; [ -c /dev/hutch-one ] && echo node'
	[ "$status" -eq 0 ]
	run "$HUTCH" start -a cdikept
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1" ]
	[ "${lines[1]}" = "created one from-spec" ]
	[ "${lines[2]}" = "node" ]
	"$HUTCH" rm cdikept
}
