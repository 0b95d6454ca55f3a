#!/usr/bin/env bats
# layers.bats - images of more layers than mount(2)'s one page of options
# holds (about 57): the kernel driver takes them one by one where the
# kernel can (Linux 6.8's "lowerdir+"), auto falls back to hutch-overlay
# for that image where it cannot, and an explicit kernel driver says why

load ../lib/common

# An image of 80 layers, made as an OCI archive in one Python process and
# loaded: a busybox base, then 79 layers of one file each (/layers/N).
setup_file() {
	local dir=$BATS_FILE_TMPDIR/rootfs
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store" HUTCH_RUNTIME="$BATS_FILE_TMPDIR/runtime"
	make_rootfs "$dir"
	python3 - "$dir" "$BATS_FILE_TMPDIR/many.tar" <<'PY'
import hashlib, io, json, sys, tarfile
base, out = sys.argv[1], sys.argv[2]
blobs = {}
def put(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[d] = data
    return d
def layer(fill):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        fill(t)
    data = b.getvalue()
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": put(data), "size": len(data)}
def root(t):
    def owner(i):
        i.uid = i.gid = 0; i.uname = i.gname = ""
        return i
    t.add(base, arcname=".", filter=owner)
def one(n):
    def fill(t):
        d = tarfile.TarInfo("layers"); d.type = tarfile.DIRTYPE; d.mode = 0o755
        t.addfile(d)
        f = tarfile.TarInfo("layers/%d" % n); data = b"%d\n" % n; f.size = len(data)
        t.addfile(f, io.BytesIO(data))
    return fill
layers = [layer(root)] + [layer(one(n)) for n in range(1, 80)]
cfg = json.dumps({"architecture": "amd64", "os": "linux",
    "created": "2024-01-02T03:04:05Z", "config": {"Cmd": ["/bin/sh"]},
    "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode()
man = json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": put(cfg), "size": len(cfg)}, "layers": layers}).encode()
mdig = put(man)
index = json.dumps({"schemaVersion": 2, "manifests": [{
    "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdig,
    "size": len(man), "annotations": {"org.opencontainers.image.ref.name": "many:80"}}]}).encode()
with tarfile.open(out, "w") as t:
    for name, data in [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                       ("index.json", index)] + [
            ("blobs/sha256/" + d[7:], v) for d, v in blobs.items()]:
        i = tarfile.TarInfo(name); i.size = len(data)
        t.addfile(i, io.BytesIO(data))
PY
	"$HUTCH" load -i "$BATS_FILE_TMPDIR/many.tar" >/dev/null
	"$HUTCH" import "$dir" one:1 >/dev/null
}

teardown_file() {
	remove_store "$BATS_FILE_TMPDIR/store"
}

setup() {
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store" HUTCH_RUNTIME="$BATS_FILE_TMPDIR/runtime"
	unset HUTCH_STORAGE_DRIVER
}

teardown() {
	"$HUTCH" rm -f many one >/dev/null 2>&1 || true
}

# kernel_overlay: this kernel mounts overlayfs in a user namespace here.
kernel_overlay() {
	"$HUTCH" run --rm --storage-driver kernel one:1 true >/dev/null 2>&1
}

# driver_of NAME: the storage driver a container was given.
driver_of() {
	"$HUTCH" inspect -f '{{.GraphDriver.Name}}' "$1"
}

@test "an image of 80 layers runs on the kernel driver, and builds on it: every layer is there" {
	kernel_overlay || skip "kernel overlayfs cannot be mounted in a user namespace here"
	[ "$(jq '.layers | length' "$HUTCH_ROOT"/images/*.json | sort -n | tail -n 1)" -eq 80 ]
	run "$HUTCH" run --rm --storage-driver kernel many:80 sh -c 'ls /layers | wc -l; cat /layers/1 /layers/79'
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '79\n1\n79')" ]
	# auto: the kernel's, since it takes them.
	"$HUTCH" run --name many many:80 true
	[ "$(driver_of many)" = overlay ]
	# A build's COPY and RUN mount the 80 layers and the new ones.
	mkdir -p "$BATS_TEST_TMPDIR/ctx"
	echo a >"$BATS_TEST_TMPDIR/ctx/a"
	printf 'FROM many:80\nCOPY a /a\nRUN ls /layers | wc -l >/count\n' >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
	run "$HUTCH" build -q --storage-driver kernel -t many:81 "$BATS_TEST_TMPDIR/ctx"
	[ "$status" -eq 0 ]
	run "$HUTCH" run --rm --storage-driver kernel many:81 cat /a /count
	[ "$output" = "$(printf 'a\n79')" ]
}

@test "without lowerdir+ (an older kernel): auto picks hutch-overlay for that image alone; --storage-driver kernel says why in one line" {
	kernel_overlay || skip "kernel overlayfs cannot be mounted in a user namespace here"
	# The new mount API hidden (ENOSYS, as before Linux 5.2): the probe
	# finds no "lowerdir+". nosyscall's seccomp filter needs
	# no_new_privs, under which newuidmap cannot map subordinate ids.
	subids_available && skip "nosyscall's no_new_privs disables newuidmap, which the full mapping needs"
	local old=("$HUTCH_BUILD/tests/nosyscall" fsopen,fsconfig,fsmount,move_mount)
	run "${old[@]}" "$HUTCH" run --name many many:80 sh -c 'ls /layers | wc -l'
	[ "$status" -eq 0 ]
	[ "$output" = 79 ]
	[ "$(driver_of many)" = fuse-overlay ]
	"${old[@]}" "$HUTCH" run --name one one:1 true
	[ "$(driver_of one)" = overlay ]
	expect_plain_error 125 "${old[@]}" "$HUTCH" run --rm --storage-driver kernel many:80 true
	[ "$stderr" = "hutch: the kernel overlay cannot take this image's 80 layers on this kernel: mount(2) takes about 57, and Linux 6.8 and later any number; use --storage-driver fuse (or auto, which picks it)" ]
}
