#!/usr/bin/env bats
# info.bats - `hutch info`: the host check, run as the unprivileged test users

load ../lib/common

setup() {
	hutch_test_env
}

# json_ok: stdin is valid JSON; with a second argument (a Python expression
# over d, and the same test as a jq filter) that must hold too.
json_ok() {
	local py=${1:-True} jqf=${2:-.}
	if command -v python3 >/dev/null; then
		python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($py) else 1)"
	elif command -v jq >/dev/null; then
		jq -e "$jqf" >/dev/null
	else
		skip "neither python3 nor jq is installed"
	fi
}

# line NAME: the value of the "NAME: VALUE" line in $output.
line() {
	local l
	for l in "${lines[@]}"; do
		if [[ $l == "$1: "* ]]; then
			echo "${l#"$1: "}"
			return 0
		fi
	done
	return 1
}

# fix_of NAME: the fix line after the "NAME: VALUE" line in $output.
fix_of() {
	local i
	for ((i = 0; i + 1 < ${#lines[@]}; i++)); do
		if [[ ${lines[i]} == "$1: "* ]]; then
			[[ ${lines[i + 1]} == "  fix: "* ]] || return 1
			echo "${lines[i + 1]#"  fix: "}"
			return 0
		fi
	done
	return 1
}

# hutch_version: "0.1.0 (commit abcdef123456)", as hutch --version says it.
hutch_version() {
	local v
	v=$("$HUTCH" --version)
	echo "${v#hutch version }"
}

@test "info: this machine can run rootless containers" {
	run -0 "$HUTCH" info
	[ "$(line "user namespaces")" = yes ]
	[ "${lines[-1]}" = "rootless containers: yes" ]
	[[ $(line kernel) == "$(uname -r) $(uname -m)" ]]
	[[ $(line "kernel overlay") == "yes (userxattr)"* ]]
}

@test "info: every problem is followed by one fix line" {
	run -0 "$HUTCH" info
	local i
	for ((i = 0; i < ${#lines[@]}; i++)); do
		[[ ${lines[i]} == *": "* || ${lines[i]} == "  fix: "* ]]
		if [[ ${lines[i]} == "  fix: "* ]]; then
			[ "$i" -gt 0 ]
			[[ ${lines[i - 1]} != "  fix: "* ]]
			[ ${#lines[i]} -gt 8 ]
		fi
	done
}

@test "info: id mapping is full with subordinate ids, single without" {
	run -0 "$HUTCH" info
	local map
	map=$(line "id mapping")
	if subids_available; then
		[[ $map == "full (uid 0 -> $(id -u); 1-"*" -> "* ]]
		[[ ${output} != *"usermod --add-subuids"* ]]
	else
		[[ $map == "single (uid 0 -> $(id -u) only"* ]]
		# The range proposed is free: no entry of either file, any
		# user's, overlaps it (tests/run gives hutch-sub 100000-165535,
		# the range every admin guide proposes).
		local re="^ask an admin: sudo usermod --add-subuids ([0-9]+)-([0-9]+) --add-subgids ([0-9]+)-([0-9]+) $(id -un) "
		[[ $(fix_of "id mapping") =~ $re ]]
		local first=${BASH_REMATCH[1]} last=${BASH_REMATCH[2]} who s c
		[ "${BASH_REMATCH[3]}-${BASH_REMATCH[4]}" = "$first-$last" ]
		[ $((last - first + 1)) -eq 65536 ]
		[ "$first" -ge 100000 ]
		while IFS=: read -r who s c; do
			[[ $s =~ ^[0-9]+$ && $c =~ ^[0-9]+$ ]] || continue
			((s > last || s + c <= first))
		done < <(cat /etc/subuid /etc/subgid 2>/dev/null)
	fi
	[[ $(line newuidmap) == */newuidmap" (setuid root)" || $(line newuidmap) == *"(file capabilities)" ]]
}

@test "info --format json: one valid JSON object with the same verdict" {
	run -0 --separate-stderr "$HUTCH" info --format json
	json_ok <<<"$output"
	json_ok 'd["rootless"] is True and d["checks"][-1]["name"] == "rootless containers" and all(c["fix"] for c in d["checks"] if c["state"] != "ok") and any(c["name"] == "user namespaces" and c["value"] == "yes" for c in d["checks"])' \
		'.rootless == true and .checks[-1].name == "rootless containers" and all(.checks[]; .state == "ok" or (.fix | length > 0)) and any(.checks[]; .name == "user namespaces" and .value == "yes")' <<<"$output"
	run -0 "$HUTCH" info -f text
	[ "${lines[-1]}" = "rootless containers: yes" ]
}

@test "info: a store on tmpfs is reported as tmpfs" {
	[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] || skip "/dev/shm is not a tmpfs here"
	run -0 env HUTCH_ROOT=/dev/shm/hutch-info-$$/store "$HUTCH" info
	[ "$(line store)" = "/dev/shm/hutch-info-$$/store (not created yet; tmpfs at /dev/shm)" ]
	# Kernel overlay is probed on the store's filesystem, not on the
	# runtime directory's (here /tmp's).
	[[ $(line "kernel overlay") == *"on tmpfs in /dev/shm, where the store /dev/shm/hutch-info-$$/store will be"* ]]
	[ ! -e /dev/shm/hutch-info-$$ ]
	[ -z "$(find /dev/shm -maxdepth 1 -name '.hutch-info-*' -user "$(id -u)")" ]
	mkdir -p "$HUTCH_ROOT"
	run -0 "$HUTCH" info
	if [ "$(stat -f -c %T "$HUTCH_ROOT")" != tmpfs ]; then
		[[ $(line store) == "$HUTCH_ROOT ("* ]]
		[[ $(line store) != *tmpfs* ]]
	fi
}

@test "info: the runtime dir falls back to /tmp when XDG_RUNTIME_DIR is missing" {
	run -0 env -u HUTCH_RUNTIME -u TMPDIR XDG_RUNTIME_DIR=/nonexistent/run "$HUTCH" info
	[[ $(line "runtime dir") == "/tmp/hutch-$(id -u) ("*"; /tmp fallback: XDG_RUNTIME_DIR=/nonexistent/run is missing or not ours)" ]]
	mkdir -m 0700 "$BATS_TEST_TMPDIR/xdg"
	run -0 env -u HUTCH_RUNTIME -u TMPDIR XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/xdg" "$HUTCH" info
	[[ $(line "runtime dir") == "$BATS_TEST_TMPDIR/xdg/hutch ("*"; from XDG_RUNTIME_DIR)" ]]
	run -0 env -u HUTCH_RUNTIME -u XDG_RUNTIME_DIR TMPDIR="$BATS_TEST_TMPDIR" "$HUTCH" info
	[[ $(line "runtime dir") == "$BATS_TEST_TMPDIR/hutch-$(id -u) ("*"; TMPDIR fallback: XDG_RUNTIME_DIR is unset)" ]]
}

@test "info: the overlay probe runs in the store and leaves nothing there" {
	mkdir -p "$HUTCH_ROOT"
	run -0 "$HUTCH" info
	[[ $(line "kernel overlay") == *" in $HUTCH_ROOT" ]]
	[ -z "$(ls -A "$HUTCH_ROOT")" ]
	rmdir "$HUTCH_ROOT"
	run -0 "$HUTCH" info
	[[ $(line "kernel overlay") == *" in $BATS_TEST_TMPDIR, where the store $HUTCH_ROOT will be" ]]
	[ -z "$(find "$BATS_TEST_TMPDIR" -maxdepth 1 -name '.hutch-info-*')" ]
	[ ! -e "$HUTCH_ROOT" ]
	[ ! -e "$HUTCH_RUNTIME" ]
}

# A real refusal: bubblewrap's --disable-userns forbids further user
# namespaces inside its sandbox, so the probe's unshare fails there.
@test "info: a refused user namespace fails with the step, errno and a fix" {
	command -v bwrap >/dev/null || skip "bubblewrap is not installed"
	bwrap --help 2>&1 | grep -q -- --disable-userns || skip "this bwrap has no --disable-userns"
	run -1 bwrap --bind / / --dev /dev --proc /proc --unshare-user \
		--disable-userns -- "$HUTCH" info
	[[ $(line "user namespaces") == "no: unshare(CLONE_NEWUSER|CLONE_NEWNS) failed: "* ]]
	[[ ${lines[-2]} == "rootless containers: no: user namespaces: unshare("* ]]
	[[ ${lines[-1]} == "  fix: "* ]]
	run -1 bwrap --bind / / --dev /dev --proc /proc --unshare-user \
		--disable-userns -- "$HUTCH" info --format json
	json_ok 'd["rootless"] is False' '.rootless == false' <<<"$output"
}

@test "info: a bad option exits 125 with one line naming it" {
	run -125 "$HUTCH" info --bogus
	[ ${#lines[@]} -eq 1 ]
	[[ $output == *"--bogus"* ]]
	run -125 "$HUTCH" info --format xml
	[ ${#lines[@]} -eq 1 ]
	[[ $output == *'"xml"'*json* ]]
	run -125 "$HUTCH" info extra
	[ ${#lines[@]} -eq 1 ]
	[[ $output == *'"extra"'* ]]
}

# hutch_alone DIR: a copy of the hutch binary alone in DIR, as a user who
# copied only that file would have it.
hutch_alone() {
	mkdir -p "$1"
	cp "${HUTCH_REAL:-$HUTCH}" "$1/hutch"
}

# path_without_helpers: $PATH less the directories that hold a hutch-net,
# hutch-overlay or hutch-squashfs (an installed package), so that a copy of
# hutch alone has none.
path_without_helpers() {
	local d dirs out=
	IFS=: read -ra dirs <<<"$PATH"
	for d in "${dirs[@]}"; do
		[ -e "$d/hutch-net" ] || [ -e "$d/hutch-overlay" ] || [ -e "$d/hutch-squashfs" ] || out+=${out:+:}$d
	done
	echo "$out"
}

# alone ARGS...: run the copy in $A without helper variables or helpers on PATH.
alone() {
	env -u HUTCH_NET -u HUTCH_OVERLAY -u HUTCH_SQUASHFS -u HUTCH_STORAGE_DRIVER \
		PATH="$(path_without_helpers)" "$A/hutch" "$@"
}

@test "info: a copy of hutch alone names the missing helper, where it looked and the fix, exit 125" {
	A=$BATS_TEST_TMPDIR/alone
	hutch_alone "$A"
	make_rootfs "$BATS_TEST_TMPDIR/rootfs"
	run -125 --separate-stderr alone run --rm --rootfs "$BATS_TEST_TMPDIR/rootfs" -p 127.0.0.1::80 true
	echo "$stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ "$stderr" = "hutch: cannot start the container's network: hutch-net not found: HUTCH_NET is not set, $A/hutch-net (next to hutch) does not exist, and no directory of PATH has hutch-net; install hutch-net next to hutch, in $A, or set HUTCH_NET to its path" ]
	run -125 --separate-stderr alone run --rm --rootfs "$BATS_TEST_TMPDIR/rootfs" --overlay --storage-driver fuse true
	echo "$stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"hutch-overlay not found: HUTCH_OVERLAY is not set, $A/hutch-overlay (next to hutch) does not exist, and no directory of PATH has hutch-overlay; install hutch-overlay next to hutch, in $A, or set HUTCH_OVERLAY to its path" ]]
	[[ $stderr != *"/dev/fuse"* ]]
	run -0 alone ps -aq
	[ -z "$output" ]
	HUTCH_NET=$BATS_TEST_TMPDIR/nowhere/hutch-net run -125 --separate-stderr "$A/hutch" run --rm --rootfs "$BATS_TEST_TMPDIR/rootfs" -p 127.0.0.1::80 true
	[[ $stderr == *"hutch-net not found: HUTCH_NET=$BATS_TEST_TMPDIR/nowhere/hutch-net does not exist; set HUTCH_NET to the path of hutch-net, or unset it"* ]]
}

@test "info: hutch and its helpers are one build, found next to hutch" {
	local real dir
	real=$(readlink -f "${HUTCH_REAL:-$HUTCH}")
	dir=$(dirname "$real")
	run -0 env -u HUTCH_NET -u HUTCH_OVERLAY -u HUTCH_SQUASHFS "$HUTCH" info
	[ "$(line hutch)" = "$(hutch_version) at $real" ]
	[ "$(line hutch-net)" = "$dir/hutch-net (next to hutch, same version)" ]
	[ "$(line hutch-overlay)" = "$dir/hutch-overlay (next to hutch, same version)" ]
	[ "$(line hutch-squashfs)" = "$dir/hutch-squashfs (next to hutch, same version)" ]
	# Each helper says the same version line as hutch --version.
	[ "$("$dir/hutch-net" --version | head -n 1)" = "hutch-net version $(hutch_version)" ]
	[ "$("$dir/hutch-overlay" --version | head -n 1)" = "hutch-overlay version $(hutch_version)" ]
}

@test "info: a copy of hutch alone lists the missing helpers as failed checks with the fix" {
	A=$BATS_TEST_TMPDIR/alone
	hutch_alone "$A"
	run -1 alone info
	echo "$output"
	[ "$(line hutch-net)" = "not found: HUTCH_NET is not set, $A/hutch-net (next to hutch) does not exist, and no directory of PATH has hutch-net (published ports (-p) and --network slirp need it)" ]
	[ "$(fix_of hutch-net)" = "install hutch-net next to hutch, in $A, or set HUTCH_NET to its path" ]
	[ "$(line hutch-overlay)" = "not found: HUTCH_OVERLAY is not set, $A/hutch-overlay (next to hutch) does not exist, and no directory of PATH has hutch-overlay (the fuse storage driver needs it)" ]
	[ "$(fix_of hutch-overlay)" = "install hutch-overlay next to hutch, in $A, or set HUTCH_OVERLAY to its path" ]
	# Single-file images need hutch-squashfs; containers do not.
	[ "$(line hutch-squashfs)" = "not found: HUTCH_SQUASHFS is not set, $A/hutch-squashfs (next to hutch) does not exist, and no directory of PATH has hutch-squashfs (single-file images (IMG.sqsh) need it)" ]
	[[ ${lines[-2]} == "rootless containers: no: hutch-net: not found: "* ]]
	run -1 alone info --format json
	json_ok 'd["rootless"] is False and [c["state"] for c in d["checks"] if c["name"] in ("hutch-net", "hutch-overlay")] == ["fail", "fail"]' \
		'.rootless == false and ([.checks[] | select(.name == "hutch-net" or .name == "hutch-overlay") | .state] == ["fail", "fail"])' <<<"$output"
}

@test "info: a helper of another build, an older one and a broken one are reported" {
	local d=$BATS_TEST_TMPDIR/helpers dir
	dir=$(dirname "$(readlink -f "${HUTCH_REAL:-$HUTCH}")")
	mkdir -p "$d"
	printf '#!/bin/sh\necho "hutch-net version 0.0.1 (commit 000000000000)"\n' >"$d/other-net"
	printf '#!/bin/sh\necho "hutch-overlay, FUSE library 3.14.0"\n' >"$d/old-overlay"
	printf '#!/bin/sh\necho "$0: error while loading shared libraries: libslirp.so.0" >&2\nexit 127\n' >"$d/broken-net"
	chmod 0755 "$d"/*
	HUTCH_NET=$d/other-net HUTCH_OVERLAY=$d/old-overlay run -0 "$HUTCH" info
	echo "$output"
	[ "$(line hutch-net)" = "$d/other-net (from HUTCH_NET) is version 0.0.1 (commit 000000000000), hutch is $(hutch_version)" ]
	[ "$(fix_of hutch-net)" = "install the hutch-net of this hutch's build, $(hutch_version), next to it in $dir, or set HUTCH_NET to it" ]
	[ "$(line hutch-overlay)" = "$d/old-overlay (from HUTCH_OVERLAY) does not say its version (an older hutch-overlay?): \"hutch-overlay, FUSE library 3.14.0\"" ]
	[[ $(fix_of hutch-overlay) == "install the hutch-overlay of this hutch's build"* ]]
	HUTCH_NET=$d/broken-net run -1 "$HUTCH" info
	echo "$output"
	[ "$(line hutch-net)" = "$d/broken-net (from HUTCH_NET) cannot run: $d/broken-net: error while loading shared libraries: libslirp.so.0 (published ports (-p) and --network slirp need it)" ]
	[[ $(fix_of hutch-net) == *"ldd $d/broken-net lists the libraries it needs" ]]
	[ "$(line hutch-overlay)" = "$dir/hutch-overlay (next to hutch, same version)" ]
}

# The advice of every state, not only this machine's: each --option in
# hostcheck.c's strings is hutch run's or that of the other program the
# line names (usermod, systemd-run, bwrap).
@test "info: the options its advice names exist" {
	local src=$HUTCH_TESTS/../sandbox/hostcheck.c help opt
	[ -f "$src" ] || skip "no sources beside the tests"
	help=$("$HUTCH" run --help)
	run -0 "$HUTCH" info
	[[ $output != *--memory* && $output != *--cpus* ]]
	for opt in $(grep -oE -- '"[^"]*"' "$src" | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
		case $opt in
		--add-subuids | --add-subgids | --user | --scope | --disable-userns) continue ;;
		esac
		echo "$opt"
		[[ $help == *" $opt "* ]]
	done
}

# restricted_procsys: a fake sysctl tree with Ubuntu's restriction on
# (kernel.apparmor_restrict_unprivileged_userns=1), for HUTCH_PROCSYS.
restricted_procsys() {
	mkdir -p "$BATS_TEST_TMPDIR/procsys/kernel"
	echo 1 >"$BATS_TEST_TMPDIR/procsys/kernel/apparmor_restrict_unprivileged_userns"
	echo "$BATS_TEST_TMPDIR/procsys"
}

# profile_for PATH: the AppArmor profile hutch makes for the binary PATH.
profile_for() {
	local name
	name=hutch$(sed 's|/|.|g; s|[^A-Za-z0-9._+-]|_|g' <<<"$1")
	printf 'abi <abi/3.0>,\n\ninclude <tunables/global>\n\nprofile %s %s flags=(unconfined) {\n  # Site-specific additions and overrides.\n  include if exists <local/%s>\n}\n' "$name" "$1" "$name"
}

@test "info: under Ubuntu's restricted user namespaces it prints the AppArmor profile for hutch's real path" {
	local real name fake link=$BATS_TEST_TMPDIR/link
	real=$(readlink -f "${HUTCH_REAL:-$HUTCH}")
	name=hutch$(sed 's|/|.|g; s|[^A-Za-z0-9._+-]|_|g' <<<"$real")
	fake=$(restricted_procsys)
	# Started through a symbolic link: the profile names the file itself.
	mkdir -p "$link"
	ln -s "$real" "$link/hutch"
	HUTCH_PROCSYS=$fake run -1 "$link/hutch" info
	echo "$output"
	[ "$(line "user namespaces")" = "no: kernel.apparmor_restrict_unprivileged_userns is 1 (AppArmor lets only programs with a profile use user namespaces)" ]
	local fix="install the AppArmor profile that 'hutch info' prints for $real as /etc/apparmor.d/$name and load it: sudo apparmor_parser -r /etc/apparmor.d/$name (hutch's packages install one for /usr/bin/hutch, from packaging/apparmor/hutch); or let every program use user namespaces: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
	[ "$(fix_of "user namespaces")" = "$fix" ]
	# The profile whole, under the fix, indented four spaces.
	local block
	block=$(profile_for "$real" | sed 's/^./    &/')
	[[ $output == *"  fix: $fix"$'\n'"$block"$'\n'"id mapping: "* ]]
	[[ $output != *"$link/hutch"* ]]
	[[ ${lines[-2]} == "rootless containers: no: user namespaces: kernel.apparmor_restrict_unprivileged_userns is 1 "* ]]
	HUTCH_PROCSYS=$fake run -1 "$link/hutch" info --format json
	profile_for "$real" >"$BATS_TEST_TMPDIR/want"
	json_ok "[c['detail'] for c in d['checks'] if 'detail' in c] == [open('$BATS_TEST_TMPDIR/want').read()]" \
		"[.checks[] | select(.detail) | .detail] as \$d | (\$d | length) == 1 and (\$d[0] | startswith(\"abi <abi/3.0>,\n\") and contains(\" $real flags=(unconfined) {\n\"))" <<<"$output"
}

@test "info: a run refused under Ubuntu's restriction names it and the profile to install, in one line" {
	command -v bwrap >/dev/null || skip "bubblewrap is not installed"
	bwrap --help 2>&1 | grep -q -- --disable-userns || skip "this bwrap has no --disable-userns"
	local real name fake
	real=$(readlink -f "${HUTCH_REAL:-$HUTCH}")
	name=hutch$(sed 's|/|.|g; s|[^A-Za-z0-9._+-]|_|g' <<<"$real")
	fake=$(restricted_procsys)
	make_rootfs "$BATS_TEST_TMPDIR/rootfs"
	# bwrap --disable-userns makes the clone fail, as a real refusal would.
	HUTCH_PROCSYS=$fake run -125 --separate-stderr bwrap --bind / / --dev /dev \
		--proc /proc --unshare-user --disable-userns -- \
		"$real" run --rm --rootfs "$BATS_TEST_TMPDIR/rootfs" true
	echo "$stderr"
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "hutch: cannot create the container's namespaces: "*"; kernel.apparmor_restrict_unprivileged_userns is 1: AppArmor lets only programs with a profile use user namespaces; fix: install the AppArmor profile that 'hutch info' prints for $real as /etc/apparmor.d/$name and load it: sudo apparmor_parser -r /etc/apparmor.d/$name ("*"sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" ]]
}

@test "info: inside a Slurm job it says what hutch does there, and which runtime dir a missing TMPDIR leaves" {
	unset HUTCH_RUNTIME XDG_RUNTIME_DIR
	SLURM_JOB_ID=42 SLURM_STEP_ID=0 SLURMD_NODENAME=node7 TMPDIR=$BATS_TEST_TMPDIR/gone run "$HUTCH" info
	echo "$output"
	[[ $(line "slurm job") == "42 step 0 on node7: its variables (SLURM_*, PMI_*, PMIX_*, the GPU binding) reach containers"* ]]
	[[ $(line "runtime dir") == "/tmp/hutch-$(id -u) ("*"TMPDIR=$BATS_TEST_TMPDIR/gone is missing or not writable)" ]]
	# Outside a job there is no such line.
	run "$HUTCH" info
	[ -z "$(line "slurm job")" ]
}
