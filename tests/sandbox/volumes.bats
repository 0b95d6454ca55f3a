#!/usr/bin/env bats
# volumes.bats - -v bind mounts: rw, ro, files, nesting, bad specifications;
# named volumes (shared, kept, filled from the image, removed), --mount

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
	D=$BATS_TEST_TMPDIR/data
	mkdir -p "$D"
	echo input >"$D/in.txt"
}

teardown() {
	"$HUTCH" ps -aq 2>/dev/null | xargs -r "$HUTCH" rm -f >/dev/null 2>&1 || true
	# Volumes filled in the full mapping hold files of subordinate ids.
	remove_store "$HUTCH_ROOT"
}

# volume_image NAME [CONFIG]: the shared rootfs as an image whose /data
# holds files of uid 1000 (alice) in modes of their own, a link and a
# directory; CONFIG is more of the image's config (JSON).
volume_image() {
	python3 - "$R" "$BATS_TEST_TMPDIR/img.tar" <<'PY'
import io, os, sys, tarfile
root, out = sys.argv[1], sys.argv[2]
def as_root(ti):
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    return ti
with tarfile.open(out, "w") as t:
    for name in sorted(os.listdir(root)):
        if name != "data":
            t.add(os.path.join(root, name), arcname=name, filter=as_root)
    def entry(name, kind, mode, data=b"", link=""):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.uid, ti.gid = kind, mode, 1000, 1000
        ti.mtime, ti.linkname, ti.size = 1000000000, link, len(data)
        t.addfile(ti, io.BytesIO(data))
    entry("data", tarfile.DIRTYPE, 0o750)
    entry("data/seed", tarfile.REGTYPE, 0o640, b"seed\n")
    entry("data/sub", tarfile.DIRTYPE, 0o700)
    entry("data/sub/ln", tarfile.SYMTYPE, 0o777, link="../seed")
PY
	"$HUTCH" import ${2:+--config-json "$2"} "$BATS_TEST_TMPDIR/img.tar" "$1" >/dev/null
}

@test "-v SRC:DST is read-write and visible on the host" {
	run "$HUTCH" run --rootfs "$R" -v "$D:/data" -e MODE=train -w /data -- sh -c 'cat in.txt; echo $MODE >out.txt'
	[ "$status" -eq 0 ]
	[ "$output" = input ]
	[ "$(cat "$D/out.txt")" = train ]
}

@test "-v SRC:DST:ro is read-only" {
	run "$HUTCH" run --rootfs "$R" -v "$D:/data:ro" -- sh -c 'cat /data/in.txt; echo x >/data/new'
	[ "$status" -ne 0 ]
	[ "${lines[0]}" = input ]
	[[ $output == *"Read-only file system"* ]]
	[ ! -e "$D/new" ]
}

@test "a single file can be bound, and the mount point is created" {
	run "$HUTCH" run --rootfs "$R" -v "$D/in.txt:/opt/deep/config.txt:ro" -- cat /opt/deep/config.txt
	[ "$status" -eq 0 ]
	[ "$output" = input ]
}

@test "nested binds land inside their parents whatever the order" {
	mkdir -p "$BATS_TEST_TMPDIR/inner"
	echo inner >"$BATS_TEST_TMPDIR/inner/i.txt"
	run "$HUTCH" run --rootfs "$R" -v "$BATS_TEST_TMPDIR/inner:/data/sub" -v "$D:/data" -- cat /data/sub/i.txt /data/in.txt
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = inner ]
	[ "${lines[1]}" = input ]
}

@test "a relative source path is taken from the current directory" {
	cd "$BATS_TEST_TMPDIR"
	run "$HUTCH" run --rootfs "$R" -v ./data:/data -- cat /data/in.txt
	[ "$status" -eq 0 ]
	[ "$output" = input ]
}

@test "malformed -v specifications are one-line errors with exit 125" {
	for spec in nocolon ":/x" "$D:" "$D:relative" "$D:/" "$D:/x:bogus" \
		"$D:/x:nocopy" "vol:/x:rprivate" "$D:/x:rshared" "x!:/x" "a:/x"; do
		run "$HUTCH" run --rootfs "$R" -v "$spec" -- true
		[ "$status" -eq 125 ] || { echo "accepted: $spec"; false; }
		[ "${#lines[@]}" -eq 1 ]
		[[ $output == *"$spec"* ]] || [[ $output == *"invalid"* ]]
	done
}

@test "a missing bind source is an error naming it" {
	run "$HUTCH" run --rootfs "$R" -v "$BATS_TEST_TMPDIR/missing:/data" -- true
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"bind source path $BATS_TEST_TMPDIR/missing does not exist"* ]]
}


@test "-v NAME:/path makes a volume that containers share and that outlives them" {
	run "$HUTCH" run --rootfs "$R" --name first -v shared:/data -- sh -c 'echo one >/data/f'
	[ "$status" -eq 0 ]
	[ "$("$HUTCH" volume ls -q)" = shared ]
	run "$HUTCH" volume inspect -f '{{.Name}} {{.Driver}} {{.Scope}} {{.Mountpoint}}' shared
	[ "$output" = "shared local local $HUTCH_ROOT/volumes/shared/_data" ]
	# Two containers at once: what one writes, the other reads.
	"$HUTCH" run -d --rootfs "$R" --name a -v shared:/data -- sleep 1000 >/dev/null
	"$HUTCH" run -d --rootfs "$R" --name b -v shared:/srv:ro -- sleep 1000 >/dev/null
	"$HUTCH" exec a sh -c 'echo two >/data/g'
	[ "$("$HUTCH" exec b cat /srv/f /srv/g)" = "$(printf 'one\ntwo')" ]
	run "$HUTCH" exec b touch /srv/h
	[ "$status" -ne 0 ]
	# A container that cannot be made leaves no volume made for it.
	run "$HUTCH" run --rootfs "$R" --name a -v never:/data -- true
	[ "$status" -eq 125 ]
	[ "$("$HUTCH" volume ls -q)" = shared ]
	run "$HUTCH" inspect -f '{{json .Mounts}}' a
	[[ $output == *'"Type":"volume"'* ]]
	[[ $output == *'"Name":"shared"'* ]]
	# Removing the containers keeps the volume and its content.
	"$HUTCH" rm -f first a b >/dev/null
	run "$HUTCH" run --rm --rootfs "$R" -v shared:/data -- cat /data/f /data/g
	[ "$output" = "$(printf 'one\ntwo')" ]
	run "$HUTCH" volume ls --format '{{.Name}} {{.Links}}'
	[ "$output" = "shared 0" ]
}

@test "a new volume is filled from the image's content at its path, owners, modes and times kept" {
	volume_image volimg:1
	run "$HUTCH" run --rm -v filled:/data volimg:1 sh -c 'stat -c "%u:%g %a" /data /data/seed /data/sub; stat -c %Y /data/seed; cat /data/sub/ln'
	echo "$output"
	[ "$status" -eq 0 ]
	if [ "$HUTCH_TEST_MODE" = full ]; then
		owner=1000:1000
	else
		owner=0:0 # the single mapping has root alone
	fi
	[ "${lines[0]}" = "$owner 750" ]
	[ "${lines[1]}" = "$owner 640" ]
	[ "${lines[2]}" = "$owner 700" ]
	[ "${lines[3]}" = 1000000000 ]
	[ "${lines[4]}" = seed ]
	if [ "$HUTCH_TEST_MODE" = full ]; then
		# Owned as in the image, so that its user can write there.
		run "$HUTCH" run --rm -u 1000 -v filled:/data volimg:1 sh -c 'echo mine >/data/new && stat -c %u /data/new'
		[ "$output" = 1000 ]
	fi
	# Two containers made at once on one new volume: one makes and fills
	# it, the other uses it, filled.
	"$HUTCH" run --rm -v twice:/data volimg:1 true &
	first=$!
	"$HUTCH" run --rm -v twice:/data volimg:1 true &
	second=$!
	wait "$first"
	wait "$second"
	[ "$("$HUTCH" run --rm -v twice:/data volimg:1 cat /data/seed)" = seed ]
	# Filled once: a volume with content is never filled again.
	"$HUTCH" run --rm -v filled:/data volimg:1 rm /data/seed
	run "$HUTCH" run --rm -v filled:/data volimg:1 ls /data
	[[ $output != *seed* ]]
	# nocopy (and volume-nocopy) leave a new volume empty, and so does a
	# path the image lacks.
	run "$HUTCH" run --rm -v bare:/data:nocopy volimg:1 ls -A /data
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run "$HUTCH" run --rm --mount type=volume,src=bare2,dst=/data,volume-nocopy volimg:1 ls -A /data
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run "$HUTCH" run --rm -v other:/nowhere volimg:1 ls -A /nowhere
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# Its files (of subordinate ids in the full mapping) go with it.
	run "$HUTCH" volume rm filled
	[ "$status" -eq 0 ]
	[ ! -e "$HUTCH_ROOT/volumes/filled" ]
}

@test "volume rm refuses a volume that any container uses, with Docker's message" {
	"$HUTCH" run --rootfs "$R" --name user -v busy:/data -- true
	expect_plain_error 1 "$HUTCH" volume rm busy
	id=$("$HUTCH" inspect -f '{{.Id}}' user)
	[[ $stderr == "hutch: remove busy: volume is in use - [$id]"* ]]
	"$HUTCH" rm user >/dev/null
	run "$HUTCH" volume rm busy
	[ "$status" -eq 0 ]
	[ "$output" = busy ]
	expect_plain_error 1 "$HUTCH" volume rm busy
	[[ $stderr == *"No such volume: busy"* ]]
	run "$HUTCH" volume rm -f busy
	[ "$status" -eq 0 ]
}

@test "volume create, ls with --filter, --format and -q, inspect, prune" {
	run "$HUTCH" volume create --label team=ml one
	[ "$status" -eq 0 ]
	[ "$output" = one ]
	run "$HUTCH" volume create one # exists: kept, as Docker does
	[ "$status" -eq 0 ]
	[ "$output" = one ]
	run "$HUTCH" volume create
	[[ $output =~ ^[0-9a-f]{64}$ ]]
	"$HUTCH" run --rootfs "$R" --name holder -v two:/data -- true
	run "$HUTCH" volume ls
	[ "${lines[0]}" = "DRIVER    VOLUME NAME" ]
	[ "${#lines[@]}" -eq 4 ]
	run "$HUTCH" volume ls -q --filter label=team=ml
	[ "$output" = one ]
	run "$HUTCH" volume ls -q --filter dangling=false
	[ "$output" = two ]
	run "$HUTCH" volume ls --filter name=on --format '{{.Name}}|{{.Labels}}|{{.Driver}}'
	[ "$output" = "one|team=ml|local" ]
	run "$HUTCH" volume inspect -f '{{json .Labels}}' one
	[ "$output" = '{"team":"ml"}' ]
	run "$HUTCH" inspect -f '{{.Mountpoint}}' one
	[ "$output" = "$HUTCH_ROOT/volumes/one/_data" ]
	# Refused in one line: other drivers, their options, bad names.
	expect_plain_error 125 "$HUTCH" volume create -o type=nfs -o device=:/export nfsvol
	[[ $stderr == *"not supported by hutch"*"-v /host/path:/path"* ]]
	expect_plain_error 125 "$HUTCH" volume create -d rexray x1
	expect_plain_error 1 "$HUTCH" volume create 'a!b'
	[[ $stderr == *'"a!b" includes invalid characters'* ]]
	[ "$("$HUTCH" volume ls -q | wc -l)" -eq 3 ]
	# prune: anonymous volumes by default (none here), -a every unused one.
	run "$HUTCH" volume prune -f
	[ "$output" = "Total reclaimed space: 0B" ]
	run "$HUTCH" volume prune -a -f --filter label=team=ml
	[ "${lines[0]}" = "Deleted Volumes:" ]
	[ "${lines[1]}" = one ]
	run "$HUTCH" volume prune -a -f
	[ "${#lines[@]}" -eq 3 ] # the unnamed one, and the total
	[ "$("$HUTCH" volume ls -q)" = two ]
}

@test "--mount type=bind|volume|tmpfs, with Docker's keys and quoting" {
	run "$HUTCH" run --rootfs "$R" --mount "type=bind,source=$D,target=/data,readonly" -- sh -c 'cat /data/in.txt; touch /data/x'
	[ "${lines[0]}" = input ]
	[[ $output == *"Read-only file system"* ]]
	# A field in quotes may hold a comma; keys are case-insensitive.
	mkdir "$BATS_TEST_TMPDIR/a,b" && echo comma >"$BATS_TEST_TMPDIR/a,b/f"
	run "$HUTCH" run --rootfs "$R" --mount "Type=bind,\"src=$BATS_TEST_TMPDIR/a,b\",dst=/c" -- cat /c/f
	[ "$status" -eq 0 ]
	[ "$output" = comma ]
	# rprivate: the bind has no master.
	run "$HUTCH" run --rootfs "$R" --mount "type=bind,src=$D,dst=/p,bind-propagation=rprivate" -- grep ' /p ' /proc/self/mountinfo
	[ "$status" -eq 0 ]
	[[ $output != *master:* ]]
	run "$HUTCH" run --rootfs "$R" --mount type=volume,src=mv,dst=/v,volume-label=k=v -- sh -c 'echo kept >/v/f'
	[ "$status" -eq 0 ]
	[ "$("$HUTCH" volume inspect -f '{{json .Labels}}' mv)" = '{"k":"v"}' ]
	run "$HUTCH" run --rm --rootfs "$R" --mount src=mv,dst=/v -- cat /v/f
	[ "$output" = kept ]
	run "$HUTCH" run --rootfs "$R" --mount type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770 -- sh -c 'stat -c %a /t; grep " /t " /proc/mounts'
	[ "${lines[0]}" = 1770 ]
	[[ ${lines[1]} == *size=1024k* ]]
}

@test "bad --mount strings are one-line errors naming the key" {
	while IFS='|' read -r spec key; do
		expect_plain_error 125 "$HUTCH" run --rootfs "$R" --mount "$spec" -- true
		[[ $stderr == *"$key"* ]] || { echo "no $key in: $stderr"; false; }
	done <<SPECS
type=bind,src=$D,dst=/x,bogus=1|bogus
type=bind,src=$D|target
type=bind,dst=/x|source
type=bind,src=$D,dst=relative|relative
type=volume,src=v1,dst=/x,tmpfs-size=1m|tmpfs-size
type=tmpfs,dst=/x,tmpfs-size=lots|tmpfs-size
type=tmpfs,dst=/x,tmpfs-mode=999|tmpfs-mode
type=tmpfs,src=a,dst=/x|source
type=bind,src=$D,dst=/x,bind-propagation=rshared|rshared
type=volume,src=v1,dst=/x,volume-opt=type=nfs|volume-opt
type=volume,src=v1,dst=/x,volume-driver=nfs|volume-driver
type=bind,src=$D,dst=/x,readonly=maybe|readonly
type=npipe,src=v1,dst=/x|npipe
type=bind,src="$D",dst=/x|quote
type=volume,src=a/b,dst=/x|a/b
type=bind,src=$BATS_TEST_TMPDIR/missing,dst=/x|missing
SPECS
	[ -z "$("$HUTCH" volume ls -q)" ]
}
