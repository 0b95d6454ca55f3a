#!/usr/bin/env bats
# squashfs.bats - images as single squashfs files (issue 19): save
# --format squashfs is deterministic and keeps the tree an image shows
# (whiteouts and opaque directories across layers applied, owners per the
# mapping, xattrs, symlinks, contents); load and import take the file back;
# a flipped byte or a truncated file is refused and leaves the store as it
# was.

load ../lib/common

setup_file() {
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store"
	export HUTCH_RUNTIME="$BATS_FILE_TMPDIR/runtime"
	R=$BATS_FILE_TMPDIR/rootfs
	make_rootfs "$R"
	echo hello >"$R/etc/xa"
	setfattr -n user.test -v hello "$R/etc/xa"
	"$HUTCH" import "$R" sqbase:1 >/dev/null
	mkdir "$BATS_FILE_TMPDIR/ctx"
	# Three layers: files, then a whiteout (rm) and an opaque directory
	# (rm -rf and made again) over them.
	cat >"$BATS_FILE_TMPDIR/ctx/Dockerfile" <<'DF'
FROM sqbase:1
RUN mkdir -p /opt/data /etc/app && echo one >/opt/data/one && echo two >/opt/data/two && echo gone >/etc/app/old && echo kept >/etc/app/conf && ln -s ../../opt/data/one /etc/app/link && chown 1000:50 /etc/app/conf && chmod 0640 /etc/app/conf
RUN rm /etc/app/old && rm -rf /opt/data && mkdir /opt/data && echo three >/opt/data/three && chmod 0700 /opt/data
CMD ["cat", "/opt/data/three"]
DF
	"$HUTCH" build -q -t sqlay:1 "$BATS_FILE_TMPDIR/ctx" >/dev/null
	"$HUTCH" save --format squashfs -o "$BATS_FILE_TMPDIR/lay.sqsh" sqlay:1
	# The tree lister, run inside containers with the host's find and
	# getfattr (the image has busybox only).
	mkdir "$BATS_FILE_TMPDIR/tools"
	cat >"$BATS_FILE_TMPDIR/tools/tree" <<'SH'
#!/bin/sh
L=/hostusr/lib/x86_64-linux-gnu
h() { "$L/ld-linux-x86-64.so.2" --library-path "$L" "$@"; }
skip='-path /etc/hostname -o -path /etc/hosts -o -path /etc/resolv.conf'
h /hostusr/bin/find / -xdev \( -path /tools -o -path /hostusr \) -prune -o \
	\( -type d -printf '%M %U %G - %p\n' \) -o \( -type l -printf '%M %U %G %s %p -> %l\n' \) -o \
	\( -type f -printf '%M %U %G %s %p ' -exec /bin/sh -c 'case $1 in /etc/hostname|/etc/hosts|/etc/resolv.conf) echo;; *) sha256sum "$1" | cut -c1-64;; esac' _ {} \; \) |
	LC_ALL=C sort
h /hostusr/bin/getfattr -R -P -d -m - --absolute-names / 2>/dev/null | grep -v -e '^# file: /\(proc\|sys\|dev\|tools\|hostusr\)'
SH
	chmod 0755 "$BATS_FILE_TMPDIR/tools/tree"
}

teardown_file() {
	remove_store "$HUTCH_ROOT"
}

# tree IMAGE: the listing of IMAGE's tree as a container sees it.
tree() {
	"$HUTCH" run --rm -v /usr:/hostusr:ro -v "$BATS_FILE_TMPDIR/tools:/tools:ro" "$1" /tools/tree
}

@test "save --format squashfs: the same bytes twice, a plain squashfs with the config after it" {
	S=$BATS_FILE_TMPDIR/lay.sqsh
	"$HUTCH" save --format squashfs -o "$BATS_TEST_TMPDIR/again.sqsh" sqlay:1
	cmp "$S" "$BATS_TEST_TMPDIR/again.sqsh"
	# A squashfs any reader takes: whiteouts applied, no marker left.
	run rdsquashfs -l /opt/data "$S"
	[ "$status" -eq 0 ]
	[[ $output == *three* ]]
	[[ $output != *one* ]]
	run rdsquashfs -l /etc/app "$S"
	[[ $output == *conf* && $output == *link* && $output != *old* && $output != *.wh.* ]]
	run rdsquashfs -c /opt/data/three "$S"
	[ "$output" = three ]
	# zstd (the superblock's compression id at offset 20, 6), not gzip (1).
	[ "$(od -A n -t u2 -j 20 -N 2 "$S" | tr -d ' ')" = 6 ]
	# The config rides after it, with the name it was saved under.
	run "$HUTCH_BUILD/hutch-squashfs" verify "$S"
	[ "$status" -eq 0 ]
	[ "$(jq -r .name <<<"$output")" = docker.io/library/sqlay:1 ] || [ "$(jq -r .name <<<"$output")" = sqlay:1 ]
	[ "$(jq -c .config.config.Cmd <<<"$output")" = '["cat","/opt/data/three"]' ]
	[ -z "$(ls "$BATS_FILE_TMPDIR" | grep hutch-tmp)" ]
}

@test "round trip: the .sqsh imported gives the tree the layers give (modes, owners, sizes, links, xattrs, contents)" {
	"$HUTCH" import "$BATS_FILE_TMPDIR/lay.sqsh" sqback:1
	tree sqlay:1 >"$BATS_TEST_TMPDIR/layers.txt"
	tree sqback:1 >"$BATS_TEST_TMPDIR/sqsh.txt"
	# The listing saw what matters, so that an empty one cannot pass.
	grep -q ' /opt/data/three ' "$BATS_TEST_TMPDIR/layers.txt"
	grep -q '^drwx------ 0 0 - /opt/data$' "$BATS_TEST_TMPDIR/layers.txt"
	grep -q 'user.test="hello"' "$BATS_TEST_TMPDIR/layers.txt"
	grep -q -- '-> ../../opt/data/one' "$BATS_TEST_TMPDIR/layers.txt"
	! grep -q -e /etc/app/old -e /opt/data/one -e '\.wh\.' "$BATS_TEST_TMPDIR/layers.txt"
	if [ "$HUTCH_TEST_MODE" = full ]; then
		grep -q '^-rw-r----- 1000 50 5 /etc/app/conf ' "$BATS_TEST_TMPDIR/layers.txt"
	fi
	diff "$BATS_TEST_TMPDIR/layers.txt" "$BATS_TEST_TMPDIR/sqsh.txt"
	# The file's config came with it.
	run "$HUTCH" run --rm sqback:1
	[ "$output" = three ]
}

@test "load -i IMG.sqsh: the image under the name it was saved with" {
	"$HUTCH" save --format squashfs -o "$BATS_TEST_TMPDIR/b.sqsh" sqbase:1
	"$HUTCH" tag sqbase:1 sqkeep:1
	"$HUTCH" rmi sqbase:1 >/dev/null
	run "$HUTCH" load -i "$BATS_TEST_TMPDIR/b.sqsh"
	[ "$status" -eq 0 ]
	[[ $output == "Loaded image: "*sqbase:1 ]]
	run "$HUTCH" run --rm sqbase:1 cat /etc/xa
	[ "$output" = hello ]
	run "$HUTCH" system check
	[ "$status" -eq 0 ]
}

# refused FILE WORD: load and import refuse FILE with a message holding
# WORD, and the store is left as it was.
refused() {
	local before
	before=$("$HUTCH" images -q | sort)
	run "$HUTCH" load -i "$1"
	[ "$status" -ne 0 ]
	[[ $output == *"$2"* ]]
	[ "${#lines[@]}" -eq 1 ]
	run "$HUTCH" import "$1" sqbad:1
	[ "$status" -eq 125 ]
	[[ $output == *"$2"* ]]
	[ "$("$HUTCH" images -q | sort)" = "$before" ]
	[ -z "$(ls -A "$HUTCH_ROOT/tmp" 2>/dev/null)" ]
	run "$HUTCH" system check
	[ "$status" -eq 0 ]
}

@test "a flipped byte or a truncated .sqsh is refused, the store unchanged" {
	S=$BATS_FILE_TMPDIR/lay.sqsh
	F=$BATS_TEST_TMPDIR/flip.sqsh
	cp "$S" "$F"
	# One byte in the middle of the squashfs data.
	off=$(($(stat -c %s "$F") / 2))
	b=$(od -An -tu1 -j "$off" -N1 "$F" | tr -d ' ')
	printf "\\$(printf '%03o' $(((b + 1) % 256)))" | dd of="$F" bs=1 seek="$off" conv=notrunc status=none
	! cmp -s "$S" "$F"
	refused "$F" "is damaged"
	T=$BATS_TEST_TMPDIR/trunc.sqsh
	head -c $(($(stat -c %s "$S") - 100)) "$S" >"$T"
	refused "$T" "truncated"
}

# no_sqsh_left FILE: no hutch-squashfs serves FILE any more, and the store
# holds no container.
no_sqsh_left() {
	! pgrep -u "$(id -u)" -f "hutch-squashfs mount .*$1" >/dev/null &&
		[ -z "$(ls "$HUTCH_ROOT/containers" 2>/dev/null)" ]
}

@test "run IMG.sqsh: the image's tree without unpacking, a writable layer above it, nothing left after" {
	S=$BATS_FILE_TMPDIR/lay.sqsh
	run "$HUTCH" run --rm "$S"
	[ "$status" -eq 0 ]
	[ "$output" = three ]
	tree sqlay:1 >"$BATS_TEST_TMPDIR/layers.txt"
	tree "$S" >"$BATS_TEST_TMPDIR/sqsh.txt"
	grep -q ' /opt/data/three ' "$BATS_TEST_TMPDIR/sqsh.txt"
	diff "$BATS_TEST_TMPDIR/layers.txt" "$BATS_TEST_TMPDIR/sqsh.txt"
	# Writable above it.
	run "$HUTCH" run --rm "$S" sh -c 'echo new >/opt/data/three && cat /opt/data/three && rm /etc/app/conf && ls /etc/app'
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = new ]
	[ "${lines[1]}" = link ]
	# Served by hutch-squashfs while it runs, nothing of it unpacked;
	# gone with it.
	id=$("$HUTCH" run -d --rm "$S" sleep 60)
	wait_for 10 pgrep -u "$(id -u)" -f "hutch-squashfs mount .*$S"
	[ -z "$(ls "$HUTCH_ROOT/containers/$id/sqfs")" ]
	"$HUTCH" rm -f "$id" >/dev/null
	wait_for 10 no_sqsh_left "$S"
	# The file is as it was.
	run "$HUTCH" run --rm "$S"
	[ "$output" = three ]
}

@test "a .sqsh written with gzip, as save wrote them before zstd, still runs; its files (no xattrs) can be written" {
	# fixtures/gzip.sqsh: a directory of /f ("abc") and /l (-> f),
	# imported and saved by hutch before save wrote zstd.
	G=$BATS_TEST_TMPDIR/gzip.sqsh
	cp "$BATS_TEST_DIRNAME/fixtures/gzip.sqsh" "$G"
	[ "$(od -A n -t u2 -j 20 -N 2 "$G" | tr -d ' ')" = 1 ]
	# The image has no shell: the host's sha256sum and readlink, by its loader.
	L=/hostusr/lib/x86_64-linux-gnu
	run "$HUTCH" run --rm -v /usr:/hostusr:ro "$G" "$L/ld-linux-x86-64.so.2" --library-path "$L" /hostusr/bin/sha256sum /f
	[ "$status" -eq 0 ]
	[ "${output%% *}" = edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd18cb ]
	run "$HUTCH" run --rm -v /usr:/hostusr:ro "$G" "$L/ld-linux-x86-64.so.2" --library-path "$L" /hostusr/bin/readlink /l
	[ "$status" -eq 0 ]
	[ "$output" = f ]
	# Written: copied up from a lower whose getxattr and listxattr the
	# kernel answers EOPNOTSUPP (hutch-squashfs answers ENOSYS for an
	# image without xattrs).
	h="$L/ld-linux-x86-64.so.2 --library-path $L"
	run "$HUTCH" run --rm -v /usr:/hostusr:ro "$G" $h /hostusr/bin/dash -c "echo more >>/f && exec $h /hostusr/bin/sha256sum /f"
	[ "$status" -eq 0 ]
	[ "${output%% *}" = 4addbb34189c482cd84741522e12a7c799c689a8a88d75de7783cdfc4d4666b4 ]
}

@test "run of a flipped .sqsh is refused in one line" {
	S=$BATS_FILE_TMPDIR/lay.sqsh
	F=$BATS_TEST_TMPDIR/flip.sqsh
	cp "$S" "$F"
	printf 'X' | dd of="$F" bs=1 seek=$(($(stat -c %s "$F") / 3)) conv=notrunc status=none
	! cmp -s "$S" "$F"
	run "$HUTCH" run --rm "$F" true
	[ "$status" -eq 125 ]
	[[ $output == *"is damaged"* ]]
	[ "${#lines[@]}" -eq 1 ]
	wait_for 10 no_sqsh_left "$F"
}

# entry FILE: the verification cache's entry for FILE (squashfs/verified.c).
entry() {
	local st
	read -r -a st < <(stat -c '%d %i' "$1")
	printf '%s/squashfs-verified/%x-%x' "$HUTCH_ROOT" "${st[0]}" "${st[1]}"
}

# settle FILE: wait until FILE's ctime is more than HSQ_SETTLE_S (2) whole
# seconds old, the age below which hutch-squashfs does not remember a
# verification (same-tick changes would keep the ctime). The design's
# own clock rule, not a synchronisation with a process.
settle() {
	while (($(date +%s) - $(stat -c %Z "$1") < 3)); do sleep 0.2; done
}

@test "a .sqsh is verified once: an unchanged file is not read again, a changed one (mtime restored) is refused" {
	F=$BATS_TEST_TMPDIR/v.sqsh
	cp "$BATS_FILE_TMPDIR/lay.sqsh" "$F"
	E=$(entry "$F")
	# Just written: verified, not remembered.
	run "$HUTCH" run --rm "$F"
	[ "$status" -eq 0 ]
	[ "$output" = three ]
	[ ! -e "$E" ]
	settle "$F"
	run "$HUTCH" run --rm "$F"
	[ "$output" = three ]
	# Remembered: the stat tuple and the footer's digest.
	digest=$(tail -c 32 "$F" | od -An -tx1 | tr -d ' \n')
	grep -q " $(stat -c %s "$F") .* $digest $(realpath "$F")\$" "$E"
	ino=$(stat -c %i "$E")
	# Unchanged: not verified again (a verification writes a new entry
	# by tmp+rename, a new inode), and the entry is not rewritten.
	run "$HUTCH" run --rm "$F"
	[ "$output" = three ]
	[ "$(stat -c %i "$E")" = "$ino" ]
	# A byte changed and the mtime put back: the ctime moved, so it is
	# verified again and refused.
	mt=$(stat -c %y "$F")
	printf 'X' | dd of="$F" bs=1 seek=$(($(stat -c %s "$F") / 3)) conv=notrunc status=none
	touch -d "$mt" "$F"
	[ "$(stat -c %y "$F")" = "$mt" ]
	run "$HUTCH" run --rm "$F" true
	[ "$status" -eq 125 ]
	[[ $output == *"is damaged"* ]]
	# The stale entry never vouches for it, however often it is run.
	run "$HUTCH" run --rm "$F" true
	[ "$status" -eq 125 ]
	wait_for 10 no_sqsh_left "$F"
}

@test "system prune forgets the verifications of .sqsh files gone or replaced, and keeps the others" {
	local f
	for f in live replaced gone; do
		cp "$BATS_FILE_TMPDIR/lay.sqsh" "$BATS_TEST_TMPDIR/$f.sqsh"
	done
	for f in live replaced gone; do settle "$BATS_TEST_TMPDIR/$f.sqsh"; done
	for f in live replaced gone; do
		run "$HUTCH" run --rm "$BATS_TEST_TMPDIR/$f.sqsh"
		[ "$output" = three ]
	done
	L=$(entry "$BATS_TEST_TMPDIR/live.sqsh")
	R=$(entry "$BATS_TEST_TMPDIR/replaced.sqsh")
	G=$(entry "$BATS_TEST_TMPDIR/gone.sqsh")
	grep -q " $BATS_TEST_TMPDIR/live.sqsh\$" "$L"
	[ -e "$R" ] && [ -e "$G" ]
	# Another file under the same name; a file removed.
	cp "$BATS_TEST_TMPDIR/replaced.sqsh" "$BATS_TEST_TMPDIR/new.sqsh"
	mv "$BATS_TEST_TMPDIR/new.sqsh" "$BATS_TEST_TMPDIR/replaced.sqsh"
	rm "$BATS_TEST_TMPDIR/gone.sqsh"
	# An entry without a path (the form before paths): kept. A lock
	# without an entry: removed, unless someone holds it.
	D=$HUTCH_ROOT/squashfs-verified
	printf 'hutch-squashfs-verified1 1 2 3 4 5 00ff\n' >"$D/1-2"
	: >"$D/f0-f0.lock"
	exec 9>"$D/e0-e0.lock"
	flock 9
	run "$HUTCH" system prune -f
	exec 9>&-
	[ "$status" -eq 0 ]
	[[ $output == *"Deleted squashfs verifications of files gone: 3"* ]]
	[ -e "$L" ] && [ -e "$D/1-2" ] && [ -e "$D/e0-e0.lock" ]
	[ ! -e "$R" ] && [ ! -e "$G" ] && [ ! -e "$D/f0-f0.lock" ]
	[ ! -e "$G.lock" ]
	# The live one is still trusted: not verified again.
	ino=$(stat -c %i "$L")
	run "$HUTCH" run --rm "$BATS_TEST_TMPDIR/live.sqsh"
	[ "$output" = three ]
	[ "$(stat -c %i "$L")" = "$ino" ]
	# The lock once let go goes too; then nothing more to forget.
	run "$HUTCH" system prune -f
	[[ $output == *"Deleted squashfs verifications of files gone: 1"* ]]
	[ ! -e "$D/e0-e0.lock" ] && [ -e "$L" ]
	run "$HUTCH" system prune -f
	[[ $output != *"verifications"* ]]
}

@test "FROM a .sqsh file (in the context, or an absolute path): the steps go on its tree, the cache holds, a damaged file is refused in one line" {
	C=$BATS_TEST_TMPDIR/ctx
	mkdir "$C"
	cp "$BATS_FILE_TMPDIR/lay.sqsh" "$C/base.sqsh"
	printf 'FROM base.sqsh\nRUN cat /opt/data/three /etc/app/conf >/both\nCMD ["cat", "/both"]\n' >"$C/Dockerfile"
	run "$HUTCH" build -t fromfile:1 "$C"
	[ "$status" -eq 0 ]
	[ "$("$HUTCH" run --rm fromfile:1)" = "$(printf 'three\nkept')" ]
	run "$HUTCH" build -t fromfile:1 "$C"
	[ "$status" -eq 0 ]
	[ "$(grep -c CACHED <<<"$output")" -eq 1 ]
	printf 'FROM %s\nRUN ls /opt/data >/ls\nCMD ["cat", "/ls"]\n' "$BATS_FILE_TMPDIR/lay.sqsh" >"$C/Dockerfile"
	"$HUTCH" build -q -t fromabs:1 "$C" >/dev/null
	[ "$("$HUTCH" run --rm fromabs:1)" = three ]
	# A flipped byte in a file the store does not hold yet: refused,
	# naming the file, nothing built. (One whose bytes, by their
	# footer's digest, the store holds already is not read again.)
	"$HUTCH" save --format squashfs -o "$C/other.sqsh" sqbase:1
	printf 'X' | dd of="$C/other.sqsh" bs=1 seek=3000 conv=notrunc status=none
	printf 'FROM other.sqsh\nRUN true\n' >"$C/Dockerfile"
	run "$HUTCH" build -t frombad:1 "$C"
	[ "$status" -ne 0 ]
	[[ $output == *"$C/other.sqsh is damaged"* ]]
	run "$HUTCH" image inspect frombad:1
	[ "$status" -ne 0 ]
	"$HUTCH" rmi fromfile:1 fromabs:1 >/dev/null
}

# blocked_on FILE: a process waits in flock(2) for FILE (/proc/locks marks
# a waiting request with "->").
blocked_on() {
	grep -q -- "-> FLOCK .*:$(stat -c %i "$1") " /proc/locks
}

@test "concurrent first starts of one .sqsh: one verifies, the others wait for its entry and do not read the file" {
	F=$BATS_TEST_TMPDIR/c.sqsh
	cp "$BATS_FILE_TMPDIR/lay.sqsh" "$F"
	E=$(entry "$F")
	settle "$F"
	mkdir -p "${E%/*}"
	# This test is the first: it holds the lock while it "verifies".
	exec 9>"$E.lock"
	flock 9
	"$HUTCH" run --rm "$F" >"$BATS_TEST_TMPDIR/second.out" 2>&1 9>&- &
	local second=$!
	wait_for 30 blocked_on "$E.lock"
	# The first one's entry, as verified.c writes it.
	local st digest
	read -r -a st < <(stat -c '%d %i %s %.9Y %.9Z' "$F")
	digest=$(tail -c 32 "$F" | od -An -tx1 | tr -d ' \n')
	printf 'hutch-squashfs-verified1 %s %s %s %s %s %s\n' "${st[0]}" "${st[1]}" \
		"${st[2]}" "${st[3]/./}" "${st[4]/./}" "$digest" >"$E.tmp"
	mv "$E.tmp" "$E"
	local ino
	ino=$(stat -c %i "$E")
	exec 9>&-
	wait "$second" || { cat "$BATS_TEST_TMPDIR/second.out"; false; }
	[ "$(cat "$BATS_TEST_TMPDIR/second.out")" = three ]
	# It took the entry: a verification would have written a new one.
	[ "$(stat -c %i "$E")" = "$ino" ]
	wait_for 10 no_sqsh_left "$F"
}

@test "20 containers from one .sqsh at once; afterwards no mount, no process, no container" {
	S=$BATS_FILE_TMPDIR/lay.sqsh
	local pids=()
	for i in $(seq 20); do
		"$HUTCH" run --rm "$S" sh -c "cat /opt/data/three; echo $i >/tmp/n; cat /tmp/n" >"$BATS_TEST_TMPDIR/out.$i" 2>&1 &
		pids+=($!)
	done
	# Only ours: bats's own time-out is a background job of the test too.
	wait "${pids[@]}"
	for i in $(seq 20); do
		[ "$(cat "$BATS_TEST_TMPDIR/out.$i")" = "three
$i" ]
	done
	wait_for 10 no_sqsh_left "$S"
}
