#!/usr/bin/env bats
# build.bats - hutch build on a busybox base: instructions, multi-stage,
# .dockerignore, the cache, hostile contexts, errors with their line

load ../lib/common

setup_file() {
	make_rootfs "$BATS_FILE_TMPDIR/rootfs"
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store" HUTCH_RUNTIME="$BATS_FILE_TMPDIR/runtime"
	"$HUTCH" import "$BATS_FILE_TMPDIR/rootfs" base:1 >/dev/null
}

teardown_file() {
	remove_store "$BATS_FILE_TMPDIR/store"
}

setup() {
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store" HUTCH_RUNTIME="$BATS_FILE_TMPDIR/runtime"
	C=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$C"
}

@test "a Dockerfile with every kind of step builds, and the image runs as described" {
	echo data >"$C/file.txt"
	mkdir -p "$C/dir/sub" && echo deep >"$C/dir/sub/x"
	cat >"$C/Dockerfile" <<'DF'
# syntax=docker/dockerfile:1
ARG BASE=base:1
FROM $BASE
LABEL maintainer="me@lab.org" purpose=test
ARG GREETING=hello
ENV APP=/app LEVEL=3
WORKDIR $APP
COPY file.txt dir ./
RUN echo "$GREETING $LEVEL" >greeting && mkdir -p /var/run/x
RUN <<SCRIPT
echo heredoc >/app/heredoc
SCRIPT
COPY <<INLINE /app/inline.txt
inline $APP
INLINE
EXPOSE 5000 6000/udp
USER 0
STOPSIGNAL SIGINT
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/greeting /app/file.txt /app/sub/x /app/heredoc /app/inline.txt"]
DF
	run "$HUTCH" build -t demo:1 --build-arg GREETING=hi --label extra=yes "$C"
	[ "$status" -eq 0 ]
	[[ $output == *"STEP 1/"*"FROM"* ]]
	[[ ${lines[-1]} =~ ^sha256:[0-9a-f]{64}$ ]]
	run "$HUTCH" run --rm demo:1
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'hi 3\ndata\ndeep\nheredoc\ninline /app')" ]
	run "$HUTCH" inspect -f '{{.Config.WorkingDir}} {{json .Config.ExposedPorts}} {{.Config.Labels.extra}} {{.Config.Labels.purpose}} {{.Config.StopSignal}}' demo:1
	[ "$output" = '/app {"5000/tcp":{},"6000/udp":{}} yes test SIGINT' ]
	run "$HUTCH" run --rm demo:1 'echo $APP $LEVEL'
	[ "$output" = "/app 3" ]
}

@test "a rebuild with nothing changed is all cache; changes miss where they should" {
	echo one >"$C/a.txt"
	# An ARG reaches the RUNs after it (as an environment variable), so
	# only those miss when its value changes.
	printf 'FROM base:1\nRUN echo run-1 >/r1\nCOPY a.txt /a.txt\nARG V=1\nRUN echo "v=$V" >/r2\n' >"$C/Dockerfile"
	run "$HUTCH" build -t cache:1 "$C"
	[ "$status" -eq 0 ]
	[[ $output != *CACHED* ]]
	run "$HUTCH" build -t cache:1 "$C"
	[ "$(grep -c CACHED <<<"$output")" -eq 3 ]
	id1=${lines[-1]}
	# A changed file: the COPY and everything after it.
	echo two >"$C/a.txt"
	run "$HUTCH" build -t cache:1 "$C"
	[ "$(grep -c CACHED <<<"$output")" -eq 1 ]
	[ "${lines[-1]}" != "$id1" ]
	# A changed build argument: only the RUN that sees it.
	run "$HUTCH" build -t cache:1 --build-arg V=2 "$C"
	[ "$(grep -c CACHED <<<"$output")" -eq 2 ]
	run "$HUTCH" run --rm cache:1 cat /a.txt /r2
	[ "$output" = "$(printf 'two\nv=2')" ]
	# A changed instruction: it and what follows.
	sed -i 's/run-1/run-one/' "$C/Dockerfile"
	run "$HUTCH" build -t cache:1 "$C"
	[ "$(grep -c CACHED <<<"$output")" -eq 0 ]
	run "$HUTCH" build --no-cache -t cache:1 "$C"
	[[ $output != *CACHED* ]]
}

@test "multi-stage: COPY --from a stage, --target stops early" {
	cat >"$C/Dockerfile" <<'DF'
FROM base:1 AS builder
RUN mkdir -p /out && echo built >/out/artifact && echo junk >/junk
FROM base:1 AS tester
RUN echo tested >/tested
FROM base:1
COPY --from=builder /out/artifact /artifact
CMD ["cat", "/artifact"]
DF
	run "$HUTCH" build -t multi:1 "$C"
	[ "$status" -eq 0 ]
	# The stage nobody needs is not built.
	[[ $output != *tested* ]]
	run "$HUTCH" run --rm multi:1
	[ "$output" = built ]
	run "$HUTCH" run --rm multi:1 ls /junk
	[ "$status" -ne 0 ]
	run "$HUTCH" build --target builder -t stage:1 "$C"
	[ "$status" -eq 0 ]
	run "$HUTCH" run --rm stage:1 cat /junk
	[ "$output" = junk ]
	run "$HUTCH" build --target nosuch "$C"
	[ "$status" -ne 0 ]
}

@test ".dockerignore keeps a secret out of the image" {
	echo secret >"$C/id_rsa"
	mkdir -p "$C/logs" && echo log >"$C/logs/a.log" && echo keep >"$C/logs/keep.txt"
	echo ok >"$C/app.py"
	printf 'id_rsa\nlogs/*.log\n**/*.tmp\n' >"$C/.dockerignore"
	touch "$C/x.tmp"
	printf 'FROM base:1\nCOPY . /app/\n' >"$C/Dockerfile"
	run "$HUTCH" build -t ign:1 "$C"
	[ "$status" -eq 0 ]
	run "$HUTCH" run --rm ign:1 find /app -type f
	[[ $output == *app.py* ]]
	[[ $output == *keep.txt* ]]
	[[ $output != *id_rsa* ]]
	[[ $output != *a.log* ]]
	[[ $output != *x.tmp* ]]
	printf 'FROM base:1\nCOPY id_rsa /x\n' >"$C/Dockerfile"
	run "$HUTCH" build -t ign:2 "$C"
	[ "$status" -ne 0 ]
	[[ $output == *"excluded by .dockerignore"* ]]
}

@test "hostile contexts: ../, a symlink out of the context, a missing context" {
	mkdir -p "$BATS_TEST_TMPDIR/outside" && echo host-secret >"$BATS_TEST_TMPDIR/outside/s"
	ln -s "$BATS_TEST_TMPDIR/outside" "$C/link"
	printf 'FROM base:1\nCOPY ../outside/s /s\n' >"$C/Dockerfile"
	run "$HUTCH" build "$C"
	[ "$status" -ne 0 ]
	[[ $output == *"forbidden path outside the build context"* ]]
	# The link resolves inside the context, where there is no such file.
	printf 'FROM base:1\nCOPY link/s /s\n' >"$C/Dockerfile"
	run "$HUTCH" build -t hostile "$C"
	[ "$status" -ne 0 ]
	[[ $output == *"not found in build context"* ]]
	run "$HUTCH" build "$BATS_TEST_TMPDIR/nowhere"
	[ "$status" -ne 0 ]
	[[ $output == *"not found"* ]]
}

@test "a Dockerfile without FROM, an unknown instruction: file, line and a fix" {
	printf 'RUN echo hi\n' >"$C/Dockerfile"
	run "$HUTCH" build "$C"
	[ "$status" -ne 0 ]
	[[ $output == *FROM* ]]
	printf 'FROM base:1\n\nRUNN echo hi\n' >"$C/Dockerfile"
	run "$HUTCH" build "$C"
	[ "$status" -ne 0 ]
	[[ $output == *"Dockerfile:3"*"RUNN"* ]]
}

@test "a failing RUN names the step, its exit status and its last output" {
	printf 'FROM base:1\nRUN echo before; echo the-error >&2; exit 3\n' >"$C/Dockerfile"
	run "$HUTCH" build "$C"
	[ "$status" -ne 0 ]
	[[ ${lines[-1]} == *"STEP 2/2"*"exit status 3"*"the-error"* ]]
}

@test "-f -, -q, --iidfile, several -t" {
	run "$HUTCH" build -q -t q:1 -t q:2 --iidfile "$BATS_TEST_TMPDIR/iid" -f - "$C" <<<'FROM base:1
RUN echo x >/x'
	[ "$status" -eq 0 ]
	[[ $output =~ ^sha256:[0-9a-f]{64}$ ]]
	[ "$(cat "$BATS_TEST_TMPDIR/iid")" = "$output" ]
	run "$HUTCH" images --format '{{.Repository}}:{{.Tag}}'
	[[ $output == *"q:1"* ]]
	[[ $output == *"q:2"* ]]
}

@test "RUN without subordinate ids: chown and setuid succeed under root emulation" {
	printf 'FROM base:1\nRUN touch /f && chown 1000:1000 /f && chown -R 4242 /tmp && echo chowned\n' >"$C/Dockerfile"
	run "$HUTCH" build -t emu:1 "$C"
	[ "$status" -eq 0 ]
	[[ $output == *chowned* ]]
	if subids_available; then
		run "$HUTCH" run --rm emu:1 stat -c %u /f
		[ "$output" = 1000 ]
	fi
}

@test "the same build on kernel overlayfs and on hutch-overlay: the same files" {
	mkdir -p "$C/src" && echo one >"$C/src/a" && echo two >"$C/b"
	cat >"$C/Dockerfile" <<'DF'
FROM base:1
RUN mkdir -p /w/d && echo x >/w/d/f && rm /etc/group && ln -s /w/d/f /w/link
COPY src /w/src/
COPY b /w/d/
RUN rm -r /w/d && mkdir /w/d && echo y >/w/d/g && chmod 600 /w/d/g
COPY --chmod=640 b /w/b
DF
	for d in kernel fuse; do
		run "$HUTCH" build --no-cache --storage-driver "$d" -q -t "drv:$d" "$C"
		[ "$status" -eq 0 ]
		"$HUTCH" run --rm "drv:$d" sh -c 'cd /w && find . | sort | while read -r f; do
			printf "%s %s " "$f" "$(stat -c %a "$f")"; [ -f "$f" ] && cat "$f" || echo; done;
			ls /etc/group 2>&1 || true' >"$BATS_TEST_TMPDIR/$d.tree"
	done
	diff "$BATS_TEST_TMPDIR/kernel.tree" "$BATS_TEST_TMPDIR/fuse.tree"
	grep -q '^./d/g 600 y$' "$BATS_TEST_TMPDIR/fuse.tree"
	grep -q '^./b 640 two$' "$BATS_TEST_TMPDIR/fuse.tree"
	! grep -q '^./d/f' "$BATS_TEST_TMPDIR/fuse.tree" || false
	run -125 "$HUTCH" build --storage-driver zfs "$C"
	[[ $output == *'unknown storage driver "zfs"'* ]]
}
