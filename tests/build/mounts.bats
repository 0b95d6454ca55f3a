#!/usr/bin/env bats
# mounts.bats - RUN --mount as BuildKit has it: tmpfs, cache (kept in the
# store across builds, sharing, owners, pruned), bind (the context with
# .dockerignore, a stage, an image; rw thrown away), secret (build
# --secret: never in the image, its history or config, nor anywhere in
# the store), ssh (build --ssh: a real agent), and the errors for what is
# wrong or cannot be done. Nothing a mount shows, not even its mount
# point, may end up in a layer.

load ../lib/common

setup_file() {
	make_rootfs "$BATS_FILE_TMPDIR/rootfs"
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store" HUTCH_RUNTIME="$BATS_FILE_TMPDIR/runtime"
	"$HUTCH" import "$BATS_FILE_TMPDIR/rootfs" base:1 >/dev/null
	if [ -r "${HUTCH_TEST_DEBIAN_TAR:-}" ]; then
		"$HUTCH" import "$HUTCH_TEST_DEBIAN_TAR" debian:12 >/dev/null
	fi
}

teardown_file() {
	remove_store "$BATS_FILE_TMPDIR/store"
}

setup() {
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store" HUTCH_RUNTIME="$BATS_FILE_TMPDIR/runtime"
	C=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$C"
}

teardown() {
	[ -z "${AGENT_PID:-}" ] || kill "$AGENT_PID" 2>/dev/null || true
}

need_debian() {
	"$HUTCH" inspect debian:12 >/dev/null 2>&1 ||
		skip "no Debian base tarball (HUTCH_TEST_DEBIAN_TAR)"
}

# The image's files below PATH, one per line (none: empty).
files_in() {
	"$HUTCH" run --rm "$1" sh -c "find $2 2>/dev/null || true"
}

@test "the issue's example: RUN --mount=type=tmpfs builds, and neither the tmpfs nor its mount point is in the image" {
	cd "$C"
	run "$HUTCH" build -t tmpfs:1 -f - . <<<$'FROM base:1\nRUN --mount=type=tmpfs,target=/scratch touch /scratch/x'
	echo "$output"
	[ "$status" -eq 0 ]
	printf '%s\n' 'FROM base:1' \
		'RUN --mount=type=tmpfs,target=/a/b/c,size=64k grep -q " /a/b/c tmpfs " /proc/mounts && touch /a/b/c/x && ! dd if=/dev/zero of=/a/b/c/big bs=1k count=100 2>/dev/null && echo tmpfs-ok' >Dockerfile
	run "$HUTCH" build -t tmpfs:2 .
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *tmpfs-ok* ]]
	[ -z "$(files_in tmpfs:1 /scratch)" ]
	[ -z "$(files_in tmpfs:2 /a)" ]
	# The step wrote only into its tmpfs: it adds no layer at all.
	[ "$("$HUTCH" inspect -f '{{json .RootFS.diff_ids}}' tmpfs:2)" = "$("$HUTCH" inspect -f '{{json .RootFS.diff_ids}}' base:1)" ]
}

@test "type=cache: kept in the store across builds (--no-cache too), never in the image, owners and mode as asked, gone after system prune" {
	printf '%s\n' 'FROM base:1' \
		'RUN --mount=type=cache,target=/root/.cache echo run >>/root/.cache/log && echo "runs=$(wc -l </root/.cache/log)"' \
		'RUN --mount=type=cache,id=pip,target=/p1,sharing=locked --mount=type=cache,id=pip,target=/var/p2,sharing=locked touch /p1/shared && test -e /var/p2/shared && echo same-id' \
		'RUN --mount=type=cache,target=/owned,uid=1000,gid=1000,mode=0750 stat -c "owned=%u:%g:%a" /owned' \
		'RUN --mount=type=cache,target=/root/.cache,ro ! touch /root/.cache/x 2>/dev/null && echo read-only' >"$C/Dockerfile"
	run "$HUTCH" build -t cache:1 "$C"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *runs=1* ]]
	[[ $output == *same-id* ]]
	[[ $output == *read-only* ]]
	# Without subordinate ids uid 1000 does not exist: the directory is
	# the caller's, root in the build, as COPY --chown gives.
	if [ "$HUTCH_TEST_MODE" = full ]; then
		[[ $output == *owned=1000:1000:750* ]]
	else
		[[ $output == *owned=0:0:750* ]]
	fi
	run "$HUTCH" build --no-cache -t cache:1 "$C"
	[ "$status" -eq 0 ]
	[[ $output == *runs=2* ]]
	[ -z "$("$HUTCH" run --rm cache:1 ls -A /root)" ]
	[ -z "$(files_in cache:1 '/p1 /var/p2 /owned')" ]
	[ -d "$HUTCH_ROOT/build-mounts/cache" ]
	run "$HUTCH" system prune -f
	[ "$status" -eq 0 ]
	[ ! -e "$HUTCH_ROOT/build-mounts/cache" ]
	run "$HUTCH" build --no-cache -t cache:1 "$C"
	[[ $output == *runs=1* ]]
}

@test "type=cache sharing: shared sees the same directory at once, private gets its own copy, locked waits for the others" {
	mkdir -p "$C/a" "$C/b" "$C/c" "$C/d"
	# A holds the cache (shared) until the test creates $C/a/go; the
	# context's bind shows the file as soon as it exists.
	printf '%s\n' 'FROM base:1' \
		'RUN --mount=type=cache,id=sh,target=/c --mount=type=bind,target=/ctx sh -c '\''touch /c/a-in; i=0; until [ -e /ctx/go ]; do i=$((i+1)); [ $i -lt 3000 ] || exit 9; sleep 0.02; done; touch /c/a-out'\''' >"$C/a/Dockerfile"
	printf '%s\n' 'FROM base:1' 'RUN --mount=type=cache,id=sh,target=/c,sharing=shared test -e /c/a-in && touch /c/b-shared' >"$C/b/Dockerfile"
	printf '%s\n' 'FROM base:1' 'RUN --mount=type=cache,id=sh,target=/c,sharing=private test ! -e /c/a-in && touch /c/c-private' >"$C/c/Dockerfile"
	printf '%s\n' 'FROM base:1' 'RUN --mount=type=cache,id=sh,target=/c,sharing=locked test -e /c/a-out && touch /c/d-after-a' >"$C/d/Dockerfile"
	"$HUTCH" build -q "$C/a" >"$BATS_TEST_TMPDIR/a.out" 2>&1 &
	a=$!
	wait_for 60 compgen -G "$HUTCH_ROOT/build-mounts/cache/*/0/a-in"
	dir=$(dirname "$(dirname "$(compgen -G "$HUTCH_ROOT/build-mounts/cache/*/0/a-in")")")
	run "$HUTCH" build -q "$C/b"
	[ "$status" -eq 0 ]
	run "$HUTCH" build -q "$C/c"
	[ "$status" -eq 0 ]
	"$HUTCH" build -q "$C/d" >"$BATS_TEST_TMPDIR/d.out" 2>&1 &
	d=$!
	# D waits on the lock that A holds.
	ino=$(stat -c %i "$dir/0.lock")
	wait_for 60 grep -qE -- "-> FLOCK .*:$ino " /proc/locks
	touch "$C/a/go"
	wait "$a"
	wait "$d"
	[ "$(ls "$dir/0")" = "$(printf 'a-in\na-out\nb-shared\nd-after-a')" ]
	[ "$(ls "$dir/1")" = c-private ]
}

@test "type=cache with sharing=locked: apt's downloads are kept for the next build, none is in the image" {
	need_debian
	cat >"$C/Dockerfile" <<'DF'
FROM debian:12
RUN rm -f /etc/apt/apt.conf.d/docker-clean; echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' >/etc/apt/apt.conf.d/keep-cache
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked --mount=type=cache,target=/var/lib/apt,sharing=locked apt-get update && apt-get install -y --no-install-recommends hello
DF
	run "$HUTCH" build -t apt:1 "$C"
	echo "$output" | grep -v 'Reading database'
	[ "$status" -eq 0 ]
	[ "$(grep -cE '^Get:[0-9]+ .* hello ' <<<"$output")" -eq 1 ]
	run "$HUTCH" build --no-cache -t apt:1 "$C"
	echo "$output" | grep -v 'Reading database'
	[ "$status" -eq 0 ]
	[ "$(grep -cE '^Get:[0-9]+ .* hello ' <<<"$output")" -eq 0 ]
	[[ $output == *"Setting up hello"* ]]
	run "$HUTCH" run --rm apt:1 sh -c 'hello; find /var/cache/apt /var/lib/apt/lists -name "*.deb" -o -name "*.bin" -o -name "*_Packages*"'
	[ "$output" = "Hello, world!" ]
}

@test "type=secret: readable in its RUN (file and env), absent from the image, its history, its config and every file of the store; a new value keeps the cache" {
	secret="hutch-secret-$RANDOM$RANDOM$RANDOM"
	printf '%s' "$secret" >"$BATS_TEST_TMPDIR/token"
	sum=$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)
	cat >"$C/Dockerfile" <<DF
FROM base:1
RUN --mount=type=secret,id=tok [ "\$(sha256sum </run/secrets/tok | cut -d' ' -f1)" = $sum ] && stat -c "file-ok %a" /run/secrets/tok
RUN --mount=type=secret,id=tok,target=/etc/tok.txt,mode=0440,uid=1000 stat -c "target-ok %a %u" /etc/tok.txt
RUN --mount=type=secret,id=fromenv,env=TOKEN [ "\$(printf %s "\$TOKEN" | sha256sum | cut -d' ' -f1)" = $sum ] && [ ! -e /run/secrets/fromenv ] && echo env-ok
RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent && echo absent-ok
DF
	run env SECRET_VAR="$secret" "$HUTCH" build -t secret:1 --secret id=tok,src="$BATS_TEST_TMPDIR/token" --secret id=fromenv,env=SECRET_VAR "$C"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"file-ok 400"* ]]
	if [ "$HUTCH_TEST_MODE" = full ]; then
		[[ $output == *"target-ok 440 1000"* ]]
	else
		[[ $output == *"target-ok 440 0"* ]]
	fi
	[[ $output == *env-ok* ]]
	[[ $output == *absent-ok* ]]
	[[ $output == *"warning: no secret absent was given"* ]]
	[[ $output != *"$secret"* ]]
	[ -z "$(files_in secret:1 '/run /etc/tok.txt')" ]
	run "$HUTCH" history secret:1
	[[ $output != *"$secret"* ]]
	run "$HUTCH" inspect secret:1
	[ "$status" -eq 0 ]
	[[ $output != *"$secret"* ]]
	# Not in any file of the store (layers, blobs, the build cache's keys)
	# nor left in the runtime directory.
	run "$HUTCH" unshare grep -rlF "$secret" "$HUTCH_ROOT" "$HUTCH_RUNTIME"
	echo "$output"
	[ "$status" -eq 1 ]
	# BuildKit: the value is not in the cache key.
	printf 'another-value' >"$BATS_TEST_TMPDIR/token"
	run env SECRET_VAR=other "$HUTCH" build -t secret:1 --secret id=tok,src="$BATS_TEST_TMPDIR/token" --secret id=fromenv,env=SECRET_VAR "$C"
	[ "$status" -eq 0 ]
	[ "$(grep -c CACHED <<<"$output")" -eq 4 ]
}

@test "type=secret errors: a required secret not given, a --secret whose file or variable is missing" {
	printf '%s\n' 'FROM base:1' 'RUN --mount=type=secret,id=needed,required cat /run/secrets/needed' >"$C/Dockerfile"
	run --separate-stderr "$HUTCH" build "$C"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"no secret needed was given; add --secret id=needed"* ]]
	run --separate-stderr "$HUTCH" build --secret id=x,src="$BATS_TEST_TMPDIR/none" "$C"
	[ "$status" -eq 125 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"--secret"*"cannot read $BATS_TEST_TMPDIR/none"* ]]
	run --separate-stderr env -u NOT_SET_HERE "$HUTCH" build --secret id=x,env=NOT_SET_HERE "$C"
	[ "$status" -eq 125 ]
	[[ $stderr == *"NOT_SET_HERE is not set"* ]]
}

@test "type=bind: the context (read-only, .dockerignore applied, rw writes thrown away), a stage of several layers, an image; nothing of them in the image" {
	mkdir -p "$C/data"
	echo from-context >"$C/data/f"
	echo excluded >"$C/data/.env"
	printf 'data/.env\n' >"$C/.dockerignore"
	cat >"$C/Dockerfile" <<'DF'
FROM base:1 AS stage1
RUN echo one >/s1 && mkdir /out
RUN echo two >/out/s2
FROM base:1
RUN --mount=type=bind,source=data,target=/src cat /src/f >/from-ctx && test ! -e /src/.env && ! touch /src/new 2>/dev/null
RUN --mount=type=bind,target=/ctx,rw touch /ctx/written && echo changed >/ctx/data/f && test ! -e /ctx/data/.env && echo rw-ok
RUN --mount=type=bind,from=stage1,source=/out,target=/stage cat /stage/s2 >/from-stage
RUN --mount=type=bind,from=stage1,target=/st,rw cat /st/s1 >/from-stage-root && echo x >/st/s1 && touch /st/new
RUN --mount=type=bind,from=base:1,source=/etc/passwd,target=/tmp/pw grep -q alice /tmp/pw && echo image-ok >/from-image
DF
	run "$HUTCH" build -t bind:1 "$C"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *rw-ok* ]]
	run "$HUTCH" run --rm bind:1 cat /from-ctx /from-stage /from-stage-root /from-image
	[ "$output" = "$(printf 'from-context\ntwo\none\nimage-ok')" ]
	[ -z "$(files_in bind:1 '/src /ctx /stage /st /tmp/pw')" ]
	# The context was never written.
	[ ! -e "$C/written" ]
	[ "$(cat "$C/data/f")" = from-context ]
	# A changed file of the bound source misses the cache from that step.
	echo changed >"$C/data/f"
	run "$HUTCH" build -t bind:1 "$C"
	[ "$status" -eq 0 ]
	[ "$(grep -c CACHED <<<"$output")" -eq 2 ]
}

@test "type=bind refuses a source that leaves the context, and a stage that does not have it" {
	mkdir -p "$C/sub"
	printf '%s\n' 'FROM base:1' 'RUN --mount=type=bind,source=../..,target=/x ls /x' >"$C/sub/Dockerfile"
	run --separate-stderr "$HUTCH" build "$C/sub"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"outside the build context"* ]]
	printf '%s\n' 'FROM base:1' 'RUN --mount=type=bind,from=base:1,source=/no/such,target=/x ls /x' >"$C/Dockerfile"
	run --separate-stderr "$HUTCH" build "$C"
	[ "$status" -eq 1 ]
	[[ $stderr == *"cannot find /no/such in the source of the mount on /x"* ]]
}

@test "type=ssh: the agent of --ssh is at the target, SSH_AUTH_SOCK names it, and ssh-add lists its key" {
	need_debian
	command -v ssh-agent >/dev/null && command -v ssh-add >/dev/null || skip "no openssh-client"
	ssh-keygen -q -t ed25519 -N '' -C hutch-test-key -f "$BATS_TEST_TMPDIR/key"
	eval "$(ssh-agent -a "$BATS_TEST_TMPDIR/agent.sock" -s)" >/dev/null
	AGENT_PID=$SSH_AGENT_PID
	ssh-add -q "$BATS_TEST_TMPDIR/key"
	# The host's ssh-add runs on the Debian 12 image (its libraries are there).
	cp "$(command -v ssh-add)" "$C/ssh-add"
	cat >"$C/Dockerfile" <<'DF'
FROM debian:12
COPY ssh-add /usr/local/bin/
RUN --mount=type=ssh echo "sock=$SSH_AUTH_SOCK" && test -S /run/buildkit/ssh_agent.0 && ssh-add -l
RUN --mount=type=ssh,id=deploy,target=/tmp/agent.sock SSH_AUTH_SOCK=/tmp/agent.sock ssh-add -l | grep -q hutch-test-key && echo deploy-ok
RUN --mount=type=ssh,id=absent test -z "$SSH_AUTH_SOCK" && echo absent-ok
DF
	run "$HUTCH" build -t ssh:1 --ssh default --ssh deploy="$SSH_AUTH_SOCK" "$C"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"sock=/run/buildkit/ssh_agent.0"* ]]
	[[ $output == *"hutch-test-key (ED25519)"* ]]
	[[ $output == *deploy-ok* ]]
	[[ $output == *absent-ok* ]]
	[ -z "$(files_in ssh:1 '/run/buildkit /tmp/agent.sock')" ]
	# A key file is not an agent; no agent at all is told too.
	run --separate-stderr "$HUTCH" build --ssh default="$BATS_TEST_TMPDIR/key" "$C"
	[ "$status" -eq 125 ]
	[[ $stderr == *"is a file, not an agent's socket"* ]]
	run --separate-stderr env -u SSH_AUTH_SOCK "$HUTCH" build --ssh default "$C"
	[ "$status" -eq 125 ]
	[[ $stderr == *"SSH_AUTH_SOCK is not set"* ]]
}

@test "RUN --mount errors name the mount and what is wrong, in one line, before anything runs" {
	while IFS='|' read -r spec want; do
		printf 'FROM base:1\nRUN --mount=%s true\n' "$spec" >"$C/Dockerfile"
		run --separate-stderr "$HUTCH" build "$C"
		echo "$spec -> $status $stderr"
		[ "$status" -eq 1 ]
		[ "${#stderr_lines[@]}" -eq 1 ]
		[[ $stderr == *"Dockerfile:2: RUN --mount=$spec: $want"* ]]
		[[ $output != *STEP\ 2* ]]
	done <<'CASES'
type=volume,target=/v|unknown mount type "volume"
type=cache,target=/c,colour=red|unknown option "colour=red"
type=bind,target=/b,size=1m|option "size" is not valid for type=bind (it is for type=tmpfs)
type=cache,target=/c,sharing=sometimes|unknown sharing "sometimes"
type=cache|type=cache needs target=
type=tmpfs,target=/t,size=lots|invalid size "lots"
type=cache,target=/c,mode=999|invalid mode "999"
type=secret,id=a,source=b|give the secret's id= or its source=, not both
type=cache,target=/c,ro=maybe|"ro=maybe" is not a boolean
CASES
	# What a rootless build cannot do is said, not skipped.
	printf 'FROM base:1\nRUN --mount=type=cache,target=/c,from=base:1 true\n' >"$C/Dockerfile"
	run --separate-stderr "$HUTCH" build "$C"
	[ "$status" -eq 1 ]
	[[ $stderr == *"hutch does not seed a cache from a stage"* ]]
	printf 'FROM base:1\nRUN --mount=type=ssh,uid=1000 true\n' >"$C/Dockerfile"
	run --separate-stderr "$HUTCH" build "$C"
	[ "$status" -eq 1 ]
	[[ $stderr == *"cannot be given to another uid or gid"* ]]
	printf 'FROM base:1\nARG S=base:1\nRUN --mount=type=bind,from=$S,target=/x true\n' >"$C/Dockerfile"
	run --separate-stderr "$HUTCH" build "$C"
	[ "$status" -eq 1 ]
	[[ $stderr == *"Dockerfile:3: "*"from= does not take variables"* ]]
	# A relative target is below WORKDIR, as in BuildKit.
	printf 'FROM base:1\nWORKDIR /w\nRUN --mount=type=tmpfs,target=t grep -q " /w/t tmpfs " /proc/mounts && echo relative-ok\n' >"$C/Dockerfile"
	run "$HUTCH" build "$C"
	[ "$status" -eq 0 ]
	[[ $output == *relative-ok* ]]
}
