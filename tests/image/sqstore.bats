#!/usr/bin/env bats
# sqstore.bats - a store that keeps images as single squashfs files (issue
# 19, scope 3): HUTCH_IMAGE_FORMAT=layers|squashfs|auto; pull and build in
# squashfs form leave one .sqsh per image (a build keeps its step layers as
# its cache, a pull keeps no layers); run
# uses the file without unpacking; images, rmi, system df, prune and check
# know both forms; switching the setting loses nothing. auto's choice on a
# shared filesystem is shown through the HUTCH_TEST_FSTYPE seam.

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
	unset HUTCH_IMAGE_FORMAT HUTCH_TEST_FSTYPE
}

teardown() {
	remove_store "$HUTCH_ROOT"
	[ ! -d "$BATS_TEST_TMPDIR/store2" ] || remove_store "$BATS_TEST_TMPDIR/store2"
}

# listing IMAGE: the tree as a container sees it, files with their sums.
listing() {
	"$HUTCH" run --rm "$1" sh -c 'find / -xdev ! -path /etc/hostname ! -path /etc/hosts ! -path /etc/resolv.conf | sort; find / -xdev -type f ! -path /etc/hostname ! -path /etc/hosts ! -path /etc/resolv.conf -exec md5sum {} + | sort'
}

# the_sqsh NAME: the store's .sqsh file of image NAME.
the_sqsh() {
	local id
	id=$(ref_id "$1")
	echo "$HUTCH_ROOT/squashfs-images/${id#sha256:}.sqsh"
}

@test "a bad HUTCH_IMAGE_FORMAT: one line naming it and the fix, rc 125, nothing stored" {
	HUTCH_IMAGE_FORMAT=zip run "$HUTCH" pull -q "$REG/test/busybox:1"
	[ "$status" -eq 125 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"HUTCH_IMAGE_FORMAT=zip is not an image format: set it to layers, squashfs or auto"* ]]
	[ -z "$(ref_id "$REG/test/busybox:1")" ]
	mkdir "$BATS_TEST_TMPDIR/ctx"
	echo 'FROM scratch' >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
	HUTCH_IMAGE_FORMAT=Squashfs run "$HUTCH" build -q "$BATS_TEST_TMPDIR/ctx"
	[ "$status" -eq 125 ]
	[[ $output == *"HUTCH_IMAGE_FORMAT=Squashfs is not an image format"* ]]
	HUTCH_IMAGE_FORMAT=zip run "$HUTCH" info
	[[ $output == *"image format: HUTCH_IMAGE_FORMAT=zip is not an image format"* ]]
	[[ $output == *"fix: set HUTCH_IMAGE_FORMAT to layers, squashfs or auto, or unset it"* ]]
}

@test "pull in squashfs form: one .sqsh, no layers, the same tree as from layers; a second pull downloads nothing" {
	HUTCH_IMAGE_FORMAT=squashfs run "$HUTCH" pull "$REG/test/layered:1"
	[ "$status" -eq 0 ]
	S=$(the_sqsh "$REG/test/layered:1")
	[ -f "$S" ]
	[ "$(ls "$HUTCH_ROOT/squashfs-images")" = "$(basename "$S")" ]
	[ -z "$(ls -A "$HUTCH_ROOT/layers")" ]
	# Only the config and the manifest remain of the blobs.
	[ "$(ls "$HUTCH_ROOT/blobs/sha256" | wc -l)" -eq 2 ]
	store_tmp_empty
	id=$(ref_id "$REG/test/layered:1")
	[ "$(jq -r .form "$HUTCH_ROOT/images/${id#sha256:}.json")" = squashfs ]
	[ "$(jq -r .squashfsSize "$HUTCH_ROOT/images/${id#sha256:}.json")" = "$(stat -c %s "$S")" ]
	"$HUTCH_BUILD/hutch-squashfs" verify "$S" >/dev/null
	listing "$REG/test/layered:1" >"$BATS_TEST_TMPDIR/sq.txt"
	# The same image from layers, in a store of its own.
	HUTCH_ROOT=$BATS_TEST_TMPDIR/store2 HUTCH_IMAGE_FORMAT=layers "$HUTCH" pull -q "$REG/test/layered:1"
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/store2/squashfs-images" 2>/dev/null)" ]
	HUTCH_ROOT=$BATS_TEST_TMPDIR/store2 listing "$REG/test/layered:1" >"$BATS_TEST_TMPDIR/lay.txt"
	diff "$BATS_TEST_TMPDIR/lay.txt" "$BATS_TEST_TMPDIR/sq.txt"
	# Whiteouts and the opaque directory applied.
	grep -qx /opt/data/three "$BATS_TEST_TMPDIR/sq.txt"
	grep -qx /usr/share/added "$BATS_TEST_TMPDIR/sq.txt"
	! grep -q -e '^/etc/app/old$' -e '^/opt/data/one$' -e '\.wh\.' "$BATS_TEST_TMPDIR/sq.txt"
	# Its layers are gone: save as a tar and push are refused in a line;
	# save --format squashfs gives the store's file.
	run "$HUTCH" save -o "$BATS_TEST_TMPDIR/x.tar" "$REG/test/layered:1"
	[ "$status" -eq 1 ]
	[[ $output == *"is kept as one squashfs file (HUTCH_IMAGE_FORMAT), without its layers: save it with hutch save --format squashfs"* ]]
	run "$HUTCH" push "$REG/test/layered:1"
	[ "$status" -ne 0 ]
	[[ $output == *"is kept as one squashfs file"* ]]
	"$HUTCH" save --format squashfs -o "$BATS_TEST_TMPDIR/out.sqsh" "$REG/test/layered:1"
	cmp "$S" "$BATS_TEST_TMPDIR/out.sqsh"
	# Again, under either setting: up to date, the file untouched.
	before=$(stat -c %Y.%i "$S")
	HUTCH_IMAGE_FORMAT=layers run "$HUTCH" pull "$REG/test/layered:1"
	[ "$status" -eq 0 ]
	[[ $output == *"Image is up to date"* ]]
	[ "$(stat -c %Y.%i "$S")" = "$before" ]
	[ -z "$(ls -A "$HUTCH_ROOT/layers")" ]
}

@test "images, rmi and system df know both forms; rmi is refused while a container uses the file" {
	HUTCH_IMAGE_FORMAT=layers "$HUTCH" pull -q "$REG/test/busybox:1"
	HUTCH_IMAGE_FORMAT=squashfs "$HUTCH" pull -q "$REG/test/layered:1"
	S=$(the_sqsh "$REG/test/layered:1")
	run "$HUTCH" images --format '{{.Repository}} {{.Format}}'
	[[ $output == *"$REG/test/busybox layers"* ]]
	[[ $output == *"$REG/test/layered squashfs"* ]]
	run "$HUTCH" images
	[[ $(grep test/layered <<<"$output") == *" squashfs" ]]
	[[ $(grep test/busybox <<<"$output") != *squashfs* ]]
	run "$HUTCH" system df
	[ "$status" -eq 0 ]
	[[ ${lines[1]} == "Images "*"squashfs files "*" in 1)" ]]
	# An image in the store keeps its form: pulled again under the other
	# setting, busybox stays in layers (a container may use them).
	HUTCH_IMAGE_FORMAT=squashfs "$HUTCH" pull -q "$REG/test/busybox:1"
	[ ! -e "$(the_sqsh "$REG/test/busybox:1")" ]
	# Both run, whatever the setting now.
	for f in layers squashfs; do
		[ "$(HUTCH_IMAGE_FORMAT=$f "$HUTCH" run --rm "$REG/test/busybox:1" echo ok)" = ok ]
		[ "$(HUTCH_IMAGE_FORMAT=$f "$HUTCH" run --rm "$REG/test/layered:1" echo ok)" = ok ]
	done
	cid=$("$HUTCH" create "$REG/test/layered:1" true)
	id=$(ref_id "$REG/test/layered:1")
	run "$HUTCH" rmi "${id:7:12}"
	[ "$status" -eq 1 ]
	[[ $output == *"container ${cid:0:12} is using it"* ]]
	[ -f "$S" ]
	# -f: the image goes, the container keeps its file until it goes.
	"$HUTCH" rmi -f "${id:7:12}"
	[ -f "$S" ]
	[ "$("$HUTCH" start -a "$cid"; echo $?)" = 0 ]
	"$HUTCH" rm "$cid"
	"$HUTCH" system prune -f >/dev/null
	[ ! -e "$S" ]
	HUTCH_IMAGE_FORMAT=squashfs "$HUTCH" pull -q "$REG/test/layered:1"
	[ -f "$S" ]
	run "$HUTCH" rmi "${id:7:12}"
	[ "$status" -eq 0 ]
	[ ! -e "$S" ]
	[ -z "$(ls -A "$HUTCH_ROOT/squashfs-images")" ]
	# The layer-form image is untouched.
	[ "$("$HUTCH" run --rm "$REG/test/busybox:1" echo ok)" = ok ]
	store_consistent
}

@test "build in squashfs form: one file, its step layers kept as the build cache (a rebuild is all cache; rmi frees them); FROM a layer-form image and FROM a pulled squashfs-form one" {
	HUTCH_IMAGE_FORMAT=layers "$HUTCH" pull -q "$REG/test/busybox:1"
	base_layers=$(ls "$HUTCH_ROOT/layers")
	mkdir "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	printf 'FROM %s\nRUN echo one >/one && rm /bin/true\nCMD ["cat", "/one"]\n' "$REG/test/busybox:1" >"$BATS_TEST_TMPDIR/a/Dockerfile"
	HUTCH_IMAGE_FORMAT=squashfs "$HUTCH" build -q -t sqb:1 "$BATS_TEST_TMPDIR/a" >/dev/null
	[ -f "$(the_sqsh docker.io/library/sqb:1)" ]
	id=$(ref_id docker.io/library/sqb:1)
	[ "$(jq -r '.form' "$HUTCH_ROOT/images/${id#sha256:}.json")" = squashfs ]
	[ "$(jq -r '.layersKept' "$HUTCH_ROOT/images/${id#sha256:}.json")" = true ]
	# One step layer more than the base: the cache, which a rebuild takes.
	[ "$(ls "$HUTCH_ROOT/layers" | wc -l)" -eq $(($(wc -l <<<"$base_layers") + 1)) ]
	run "$HUTCH" build -t sqb:1 "$BATS_TEST_TMPDIR/a"
	[ "$status" -eq 0 ]
	[[ $output == *"--> CACHED"* ]]
	[ "$(ref_id docker.io/library/sqb:1)" = "$id" ]
	[ "$("$HUTCH" run --rm sqb:1)" = one ]
	run "$HUTCH" run --rm sqb:1 ls /bin/true
	[ "$status" -ne 0 ]
	# FROM it (its kept layers), in either setting.
	printf 'FROM sqb:1\nRUN echo two >/two\nCMD ["cat", "/one", "/two"]\n' >"$BATS_TEST_TMPDIR/b/Dockerfile"
	HUTCH_IMAGE_FORMAT=squashfs "$HUTCH" build -q -t sqc:1 "$BATS_TEST_TMPDIR/b" >/dev/null
	[ -f "$(the_sqsh docker.io/library/sqc:1)" ]
	[ "$("$HUTCH" run --rm sqc:1 | tr '\n' ' ')" = "one two " ]
	# The same build under the layers setting is all cache: the same
	# image, which keeps the form it has.
	HUTCH_IMAGE_FORMAT=layers "$HUTCH" build -q -t layc:1 "$BATS_TEST_TMPDIR/b" >/dev/null
	[ "$(ref_id docker.io/library/layc:1)" = "$(ref_id docker.io/library/sqc:1)" ]
	[ "$("$HUTCH" run --rm layc:1 | tr '\n' ' ')" = "one two " ]
	# rmi of the images frees their step layers, as in layer form.
	"$HUTCH" rmi sqc:1 layc:1 sqb:1 >/dev/null
	[ "$(ls "$HUTCH_ROOT/layers")" = "$base_layers" ]
	# FROM a pulled image in squashfs form (no layers: its file is
	# unpacked into one layer for the build).
	HUTCH_IMAGE_FORMAT=squashfs "$HUTCH" pull -q "$REG/test/layered:1"
	printf 'FROM %s\nRUN echo three >/three\nCMD ["cat", "/three"]\n' "$REG/test/layered:1" >"$BATS_TEST_TMPDIR/b/Dockerfile"
	HUTCH_IMAGE_FORMAT=squashfs "$HUTCH" build -q -t sqd:1 "$BATS_TEST_TMPDIR/b" >/dev/null
	[ "$("$HUTCH" run --rm sqd:1)" = three ]
	store_consistent
}

@test "system check verifies each .sqsh and names a damaged or orphan file; prune removes orphans and unused ones" {
	HUTCH_IMAGE_FORMAT=squashfs "$HUTCH" pull -q "$REG/test/busybox:1"
	S=$(the_sqsh "$REG/test/busybox:1")
	id=$(ref_id "$REG/test/busybox:1")
	run "$HUTCH" system check
	[ "$status" -eq 0 ]
	[[ $output == *"1 squashfs files verified: the store is consistent"* ]]
	# An orphan: a file no record names.
	O=$HUTCH_ROOT/squashfs-images/$(printf '0%.0s' {1..64}).sqsh
	cp "$S" "$O"
	run "$HUTCH" system check
	[ "$status" -eq 1 ]
	[[ $output == *"hutch: 1 problem(s), the first: $O belongs to no image (an orphan: hutch system prune removes it)"* ]]
	run "$HUTCH" system prune -f
	[[ $output == *"Deleted squashfs files: 1"* ]]
	[ ! -e "$O" ]
	[ -f "$S" ]
	# A flipped byte in the middle.
	size=$(stat -c %s "$S")
	printf '\xff' | dd of="$S" bs=1 seek=$((size / 2)) conv=notrunc status=none
	run "$HUTCH" system check
	[ "$status" -eq 1 ]
	[[ $output == *"the first: the squashfs file of image ${id:7:12} is damaged ("* ]]
	# Unused, with -a: the file goes with the image.
	"$HUTCH" system prune -a -f >/dev/null
	[ ! -e "$S" ]
	[ -z "$(ls -A "$HUTCH_ROOT/squashfs-images")" ]
}

@test "auto: squashfs on a shared filesystem (the HUTCH_TEST_FSTYPE seam), layers on a local one; info says which and why" {
	run "$HUTCH" info
	[[ $output == *"image format: layers (auto: the store is on "*", a local filesystem)"* ]]
	HUTCH_TEST_FSTYPE=nfs run "$HUTCH" info --format json
	[ "$(jq -r '.checks[] | select(.name == "image format") | .value' <<<"$output")" = "squashfs (auto: the store is on nfs, a shared filesystem)" ]
	HUTCH_IMAGE_FORMAT=layers HUTCH_TEST_FSTYPE=lustre run "$HUTCH" info
	[[ $output == *"image format: layers (HUTCH_IMAGE_FORMAT=layers)"* ]]
	HUTCH_TEST_FSTYPE=nfs "$HUTCH" pull -q "$REG/test/busybox:1"
	[ -f "$(the_sqsh "$REG/test/busybox:1")" ]
	HUTCH_IMAGE_FORMAT=auto "$HUTCH" pull -q "$REG/test/layered:1"
	[ ! -e "$(the_sqsh "$REG/test/layered:1")" ]
	[ -n "$(ls -A "$HUTCH_ROOT/layers")" ]
}

# local_dirs: this store's node-local container directories.
local_dirs() {
	ls "$TMPDIR/hutch-$(id -u)/local/"*/ 2>/dev/null || true
}

@test "a store on a shared filesystem: a container's changes on node-local disk (TMPDIR), its record in the store; gone or on another host: refused in one line; rm and prune take them" {
	"$HUTCH" pull -q "$REG/test/busybox:1"
	# A TMPDIR with "/local/" in it below a directory open to others, as
	# /local/scratch on many clusters.
	export TMPDIR="$BATS_TEST_TMPDIR/pub/local/tmp" HUTCH_TEST_FSTYPE=nfs
	mkdir -p "$TMPDIR"
	chmod 0755 "$BATS_TEST_TMPDIR/pub"
	run "$HUTCH" info
	[[ $output == *"shared filesystem: containers keep their changes on node-local disk, in $TMPDIR/hutch-$(id -u)/local/"* ]]
	run "$HUTCH" run --name keep "$REG/test/busybox:1" sh -c '[ -f /made ] && echo again || echo first; echo kept >/made; [ -f /big ] || dd if=/dev/zero of=/big bs=1024 count=3072 2>/dev/null'
	[ "$status" -eq 0 ]
	[ "$output" = first ]
	# system df counts what is there: 3 MiB of its changes.
	run "$HUTCH" system df
	[[ $(grep '^Containers' <<<"$output") =~ ^Containers\ +1\ +0\ +[3-9]\.[0-9]+MB ]]
	id=$("$HUTCH" inspect -f '{{.Id}}' keep)
	upper=$("$HUTCH" inspect -f '{{.GraphDriver.Data.UpperDir}}' keep)
	[ "$upper" = "$TMPDIR/hutch-$(id -u)/local/$(ls "$TMPDIR/hutch-$(id -u)/local")/$id/upper" ]
	[ "$(cat "$upper/made")" = kept ]
	[ "$(stat -c %a "$TMPDIR/hutch-$(id -u)")" = 700 ]
	[ -f "$HUTCH_ROOT/containers/$id/config.json" ]
	[ ! -e "$HUTCH_ROOT/containers/$id/upper" ]
	# A second start finds its changes.
	run "$HUTCH" start -a keep
	[ "$status" -eq 0 ]
	[ "$output" = again ]
	# A .sqsh container too: its mount point is node-local; --rm takes it.
	"$HUTCH" save --format squashfs -o "$BATS_TEST_TMPDIR/bb.sqsh" "$REG/test/busybox:1"
	run "$HUTCH" run --rm "$BATS_TEST_TMPDIR/bb.sqsh" sh -c 'echo x >/y; cat /y'
	[ "$status" -eq 0 ]
	[ "$output" = x ]
	[ "$(local_dirs)" = "$id" ]
	# Its changes gone (a job's TMPDIR removed): refused, never started
	# on an empty upper.
	"$HUTCH" unshare rm -rf "${upper%/upper}"
	run "$HUTCH" start -a keep
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"container keep kept its changes in ${upper%/upper}, which is gone"*"remove it (hutch rm keep) and run a new one"* ]]
	"$HUTCH" rm keep
	[ -z "$(local_dirs)" ]
	# Made on another host: refused there; rm keeps the other host's
	# directory (a warning), prune on its own host sweeps it.
	"$HUTCH" create --name far "$REG/test/busybox:1" true >/dev/null
	id=$("$HUTCH" inspect -f '{{.Id}}' far)
	sed -i 's/"LocalHost": "[^"]*"/"LocalHost": "node-elsewhere"/' "$HUTCH_ROOT/containers/$id/config.json"
	grep -q '"LocalHost": "node-elsewhere"' "$HUTCH_ROOT/containers/$id/config.json"
	run "$HUTCH" start far
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"container far keeps its changes on the local disk of node-elsewhere"*"start it there, or remove it (hutch rm far)"* ]]
	run "$HUTCH" rm far
	[ "$status" -eq 0 ]
	[[ $output == *"container far's changes stay on the local disk of node-elsewhere"*"'hutch system prune' there removes them"* ]]
	[ "$(local_dirs)" = "$id" ]
	run "$HUTCH" system prune -f
	[ "$status" -eq 0 ]
	[ -z "$(local_dirs)" ]
	# Without the shared filesystem, nothing goes there.
	unset HUTCH_TEST_FSTYPE
	"$HUTCH" run --rm "$REG/test/busybox:1" true
	"$HUTCH" create --name near "$REG/test/busybox:1" true >/dev/null
	[ -z "$(local_dirs)" ]
	[ -d "$HUTCH_ROOT/containers/$("$HUTCH" inspect -f '{{.Id}}' near)/upper" ]
}

@test "import and load in squashfs form: one file per image, no layers left" {
	HUTCH_IMAGE_FORMAT=squashfs "$HUTCH" import "$IMG/base" imp:1 >/dev/null
	[ -f "$(the_sqsh docker.io/library/imp:1)" ]
	[ "$("$HUTCH" run --rm imp:1 cat /etc/app/conf)" = base ]
	HUTCH_IMAGE_FORMAT=layers "$HUTCH" pull -q "$REG/test/layered:1"
	"$HUTCH" save -o "$BATS_TEST_TMPDIR/l.tar" "$REG/test/layered:1"
	id=$(ref_id "$REG/test/layered:1")
	"$HUTCH" rmi "${id:7:12}" >/dev/null
	[ -z "$(ls -A "$HUTCH_ROOT/layers")" ]
	HUTCH_IMAGE_FORMAT=squashfs run "$HUTCH" load -i "$BATS_TEST_TMPDIR/l.tar"
	[ "$status" -eq 0 ]
	[ -f "$(the_sqsh "$REG/test/layered:1")" ]
	[ -z "$(ls -A "$HUTCH_ROOT/layers")" ]
	[ "$("$HUTCH" run --rm "$REG/test/layered:1" cat /etc/app/conf)" = upper ]
	store_consistent
}

@test "load of a .sqsh in squashfs form keeps the file as it is: the same bytes, its whole config, the id run FILE gives; a second load adds nothing" {
	HUTCH_IMAGE_FORMAT=layers "$HUTCH" pull -q "$REG/test/layered:1"
	"$HUTCH" save --format squashfs -o "$BATS_TEST_TMPDIR/l.sqsh" "$REG/test/layered:1"
	# Its whole config: the layers it was made of, not one layer that a
	# load unpacking it would make.
	rootfs=$("$HUTCH" inspect -f '{{json .RootFS}}' "$REG/test/layered:1")
	[ "$(jq '.diff_ids | length' <<<"$rootfs")" -ge 2 ]
	"$HUTCH" rmi "$REG/test/layered:1" >/dev/null
	cid=$("$HUTCH" create "$BATS_TEST_TMPDIR/l.sqsh" true)
	run_id=$("$HUTCH" inspect -f '{{.Image}}' "$cid")
	"$HUTCH" rm "$cid" >/dev/null
	export HUTCH_IMAGE_FORMAT=squashfs
	layers=$(ls -A "$HUTCH_ROOT/layers")
	run "$HUTCH" load -i "$BATS_TEST_TMPDIR/l.sqsh"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: $REG/test/layered:1" ]
	F=$(the_sqsh "$REG/test/layered:1")
	cmp "$F" "$BATS_TEST_TMPDIR/l.sqsh"
	[ "$(ls -A "$HUTCH_ROOT/layers")" = "$layers" ]
	[ "$(ref_id "$REG/test/layered:1")" = "$run_id" ]
	[ "$("$HUTCH" inspect -f '{{json .RootFS}}' "$REG/test/layered:1" | jq -S .)" = "$(jq -S . <<<"$rootfs")" ]
	[ "$("$HUTCH" run --rm "$REG/test/layered:1" cat /etc/app/conf)" = upper ]
	"$HUTCH" load -i "$BATS_TEST_TMPDIR/l.sqsh" >/dev/null
	[ "$(ls "$HUTCH_ROOT/squashfs-images" | wc -l)" -eq 1 ]
	store_consistent
	# A damaged one is refused and leaves nothing in the store.
	cp "$BATS_TEST_TMPDIR/l.sqsh" "$BATS_TEST_TMPDIR/bad.sqsh"
	printf 'X' | dd of="$BATS_TEST_TMPDIR/bad.sqsh" bs=1 seek=3000 conv=notrunc status=none
	"$HUTCH" rmi "$REG/test/layered:1" >/dev/null
	run "$HUTCH" load -i "$BATS_TEST_TMPDIR/bad.sqsh"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"$BATS_TEST_TMPDIR/bad.sqsh is damaged"* ]]
	[ -z "$(ls -A "$HUTCH_ROOT/squashfs-images")" ]
	store_tmp_empty
	store_consistent
}

# push_sorted NAME: an image of $IMG/base whose config is compact JSON
# with sorted keys, as hutch writes the config of a .sqsh's document: a
# file carrying it gets the same id as the image.
push_sorted() {
	local lay=$BATS_TEST_TMPDIR/oci d s id mt cd cs md ms cfg man
	oci_init "$lay"
	read -r d s id mt <<<"$(oci_layer "$lay" "$IMG/base" gzip)"
	cfg=$(mktemp -p "$lay" cfg.XXXXXX)
	jq -jcnS --arg id "$id" '{created: "2024-01-02T03:04:05Z",
		architecture: "amd64", os: "linux",
		config: {Env: ["PATH=/usr/bin:/bin"], Cmd: ["/bin/sh"]},
		rootfs: {type: "layers", diff_ids: [$id]}}' >"$cfg"
	read -r cd cs <<<"$(oci_put "$lay" "$cfg")"
	man=$(mktemp -p "$lay" man.XXXXXX)
	jq -cn --arg d "$d" --argjson s "$s" --arg mt "$mt" --arg cd "$cd" --argjson cs "$cs" '{
		schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
		layers: [{mediaType: $mt, digest: $d, size: $s}]}' >"$man"
	read -r md ms <<<"$(oci_put "$lay" "$man")"
	oci_tag "$lay" sorted "$md" "$ms"
	reg_push "$lay" sorted "$1"
}

@test "a .sqsh made to carry another image's config borrows nothing of it: a pull of that id makes the image again from the registry's layers, and FROM it unpacks the file's own tree" {
	push_sorted test/sorted:1
	HUTCH_IMAGE_FORMAT=layers "$HUTCH" pull -q "$REG/test/sorted:1"
	pulled=$(ref_id "$REG/test/sorted:1")
	"$HUTCH" save --format squashfs -o "$BATS_TEST_TMPDIR/good.sqsh" "$REG/test/sorted:1"
	# Its document, over another tree.
	mkdir -p "$BATS_TEST_TMPDIR/evil/etc/app"
	cp -a "$IMG/base/." "$BATS_TEST_TMPDIR/evil/"
	echo evil >"$BATS_TEST_TMPDIR/evil/etc/app/conf"
	"$HUTCH_BUILD/hutch-squashfs" config "$BATS_TEST_TMPDIR/good.sqsh" >"$BATS_TEST_TMPDIR/doc"
	"$HUTCH_BUILD/hutch-squashfs" pack "$BATS_TEST_TMPDIR/evil.sqsh" "$BATS_TEST_TMPDIR/evil" <"$BATS_TEST_TMPDIR/doc"
	"$HUTCH" rmi "${pulled:7:12}" >/dev/null
	export HUTCH_IMAGE_FORMAT=squashfs
	"$HUTCH" load -i "$BATS_TEST_TMPDIR/evil.sqsh" >/dev/null
	# The same id: what makes the question real.
	[ "$(ref_id "$REG/test/sorted:1")" = "$pulled" ]
	[ "$("$HUTCH" run --rm "$REG/test/sorted:1" cat /etc/app/conf)" = evil ]
	mkdir "$BATS_TEST_TMPDIR/ctx"
	printf 'FROM %s\nRUN cp /etc/app/conf /seen\nCMD ["cat", "/seen"]\n' "$REG/test/sorted:1" >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
	"$HUTCH" build -q -t seen:1 "$BATS_TEST_TMPDIR/ctx" >/dev/null
	[ "$("$HUTCH" run --rm seen:1)" = evil ]
	# The pull makes it from the registry's layers; the file is replaced.
	"$HUTCH" pull -q "$REG/test/sorted:1"
	[ "$(ref_id "$REG/test/sorted:1")" = "$pulled" ]
	[ "$("$HUTCH" run --rm "$REG/test/sorted:1" cat /etc/app/conf)" = base ]
	! cmp -s "$(the_sqsh "$REG/test/sorted:1")" "$BATS_TEST_TMPDIR/evil.sqsh"
	# A build FROM it now unpacks the new file, not the tree it cached
	# for the old one under the same id.
	"$HUTCH" build -q -t seen:2 "$BATS_TEST_TMPDIR/ctx" >/dev/null
	[ "$("$HUTCH" run --rm seen:2)" = base ]
	store_consistent
}

reopened_tmp_empty() {
	"$HUTCH" images >/dev/null 2>&1
	store_tmp_empty
}

@test "SIGKILL at random points of squashfs-form pulls: never a half-visible image; prune and a clean pull leave one file" {
	local i pid
	export HUTCH_IMAGE_FORMAT=squashfs
	for i in $(seq 4); do
		"$HUTCH" pull -q "$REG/test/layered:1" >/dev/null 2>&1 &
		pid=$!
		# Not a synchronisation: the random moment of the kill, over
		# the download, the unpacking and the pack.
		sleep "$(printf '%d.%03d' $((RANDOM % 2)) $((RANDOM % 1000)))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		wait_for 10 reopened_tmp_empty
		# A named image is whole in one form or the other.
		store_consistent
		if [ -n "$(ref_id "$REG/test/layered:1")" ]; then
			[ "$("$HUTCH" run --rm "$REG/test/layered:1" cat /opt/data/three)" = three ]
		fi
		# What a kill leaves (an orphan file, unnamed images, layers
		# nothing uses) prune removes: then check finds nothing.
		"$HUTCH" system prune -f >/dev/null
		run "$HUTCH" system check
		[ "$status" -eq 0 ]
		((i % 2)) || rm -rf "$HUTCH_ROOT"
	done
	"$HUTCH" pull -q "$REG/test/layered:1"
	"$HUTCH" system prune -f >/dev/null
	[ "$(ls "$HUTCH_ROOT/squashfs-images" | wc -l)" -eq 1 ]
	[ -z "$(ls -A "$HUTCH_ROOT/layers")" ]
	[ "$("$HUTCH" run --rm "$REG/test/layered:1" cat /opt/data/three)" = three ]
	"$HUTCH" system check
}
