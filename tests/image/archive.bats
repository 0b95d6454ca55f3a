#!/usr/bin/env bats
# archive.bats - save and load: docker-archive and oci-archive round trips,
# skopeo reading what we write and us reading what skopeo writes, and
# hostile or broken archives refused without a trace in the store

load ../lib/common

setup() {
	hutch_test_env
	R=$BATS_TEST_TMPDIR/rootfs
	make_rootfs "$R"
	"$HUTCH" import --config-json '{"Cmd":["cat","/etc/hostname"]}' "$R" arc:1 >/dev/null
	mkdir "$BATS_TEST_TMPDIR/ctx"
	printf 'FROM arc:1\nRUN echo second-layer >/layer2\nCMD ["cat","/layer2"]\n' >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
	"$HUTCH" build -q -t arc:2 "$BATS_TEST_TMPDIR/ctx" >/dev/null
	ID2=$("$HUTCH" inspect --format '{{.Id}}' arc:2)
}

teardown() {
	remove_store "$HUTCH_ROOT"
}

# The store holds no image and is consistent.
store_is_empty_and_sound() {
	run "$HUTCH" images -q
	[ "$output" = "" ]
	run "$HUTCH" system check
	[ "$status" -eq 0 ]
}

@test "save docker-archive: skopeo reads it; load restores the image with its id" {
	A=$BATS_TEST_TMPDIR/a.tar
	run "$HUTCH" save -o "$A" arc:2
	[ "$status" -eq 0 ]
	run skopeo inspect --config "docker-archive:$A"
	[ "$status" -eq 0 ]
	[[ $output == *'"cat"'*'"/layer2"'* ]]
	run skopeo inspect "docker-archive:$A"
	[ "$(echo "$output" | jq '.Layers | length')" -eq 2 ]
	"$HUTCH" rmi arc:2 arc:1 >/dev/null
	store_is_empty_and_sound
	run "$HUTCH" load -i "$A"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: arc:2" ]
	[ "$("$HUTCH" inspect --format '{{.Id}}' arc:2)" = "$ID2" ]
	run "$HUTCH" run --rm arc:2
	[ "$output" = second-layer ]
	run "$HUTCH" system check
	[ "$status" -eq 0 ]
}

@test "save oci-archive of several images; load from standard input, compressed" {
	A=$BATS_TEST_TMPDIR/o.tar
	"$HUTCH" save --format oci-archive arc:1 arc:2 >"$A"
	run skopeo inspect "oci-archive:$A:arc:2"
	[ "$status" -eq 0 ]
	gzip -k "$A"
	"$HUTCH" rmi arc:2 arc:1 >/dev/null
	run "$HUTCH" load <"$A.gz"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Loaded image: arc:1" ]
	[ "${lines[1]}" = "Loaded image: arc:2" ]
	run "$HUTCH" run --rm arc:1
	[ "$status" -eq 0 ]
	[ "$("$HUTCH" inspect --format '{{.Id}}' arc:2)" = "$ID2" ]
}

@test "load what skopeo wrote: docker-archive and oci-archive" {
	"$HUTCH" save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" arc:2
	skopeo copy -q "oci-archive:$BATS_TEST_TMPDIR/o.tar:arc:2" \
		"docker-archive:$BATS_TEST_TMPDIR/d.tar:other/name:7"
	skopeo copy -q "oci-archive:$BATS_TEST_TMPDIR/o.tar:arc:2" \
		"oci-archive:$BATS_TEST_TMPDIR/o2.tar:localhost/oci/name:8"
	"$HUTCH" rmi arc:2 arc:1 >/dev/null
	run "$HUTCH" load -i "$BATS_TEST_TMPDIR/d.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: other/name:7" ]
	run "$HUTCH" run --rm other/name:7
	[ "$output" = second-layer ]
	run "$HUTCH" load -i "$BATS_TEST_TMPDIR/o2.tar"
	[ "$status" -eq 0 ]
	[ "$output" = "Loaded image: localhost/oci/name:8" ]
	run "$HUTCH" run --rm localhost/oci/name:8
	[ "$output" = second-layer ]
}

@test "an archive with escaping names, links and a tampered layer is refused; no image is added" {
	"$HUTCH" save -o "$BATS_TEST_TMPDIR/a.tar" arc:2
	"$HUTCH" rmi arc:2 arc:1 >/dev/null
	X=$BATS_TEST_TMPDIR/x
	mkdir -p "$X/in" "$BATS_TEST_TMPDIR/decoy"
	tar -C "$X/in" -xf "$BATS_TEST_TMPDIR/a.tar"
	# Layer names that climb out, and a link to a file outside: names only.
	L=$(jq -r '.[0].Layers[1]' "$X/in/manifest.json")
	echo secret >"$BATS_TEST_TMPDIR/decoy/secret"
	ln -s "$BATS_TEST_TMPDIR/decoy/secret" "$X/in/abs-link"
	jq --arg l "../../$L" '.[0].Layers[1] = $l' "$X/in/manifest.json" >"$X/m" && mv "$X/m" "$X/in/manifest.json"
	tar -C "$X/in" -cf "$X/climb.tar" .
	run "$HUTCH" load -i "$X/climb.tar"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"lacks the layer"* ]]
	jq --arg l "abs-link" '.[0].Layers[1] = $l' "$X/in/manifest.json" >"$X/m" && mv "$X/m" "$X/in/manifest.json"
	tar -C "$X/in" -cf "$X/link.tar" .
	run "$HUTCH" load -i "$X/link.tar"
	[ "$status" -eq 1 ]
	[[ $output == *"lacks the layer"* ]]
	# A layer whose content is not what the config's diff id says.
	jq --arg l "$L" '.[0].Layers[1] = $l' "$X/in/manifest.json" >"$X/m" && mv "$X/m" "$X/in/manifest.json"
	mkdir "$X/evil" && echo evil >"$X/evil/layer2" && tar -C "$X/evil" -cf "$X/in/$L" .
	tar -C "$X/in" -cf "$X/tampered.tar" .
	run "$HUTCH" load -i "$X/tampered.tar"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"sha256:"* ]]
	[ "$(cat "$BATS_TEST_TMPDIR/decoy/secret")" = secret ]
	store_is_empty_and_sound
}

@test "a tampered oci blob, a truncated archive and a non-archive: one-line errors" {
	"$HUTCH" save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" arc:2
	"$HUTCH" rmi arc:2 arc:1 >/dev/null
	X=$BATS_TEST_TMPDIR/x
	mkdir -p "$X"
	tar -C "$X" -xf "$BATS_TEST_TMPDIR/o.tar"
	cfg=$(jq -r '.manifests[0].digest' "$X/index.json" | cut -d: -f2)
	cfg=$(jq -r '.config.digest' "$X/blobs/sha256/$cfg" | cut -d: -f2)
	sed -i 's/layer2/layerX/' "$X/blobs/sha256/$cfg"
	tar -C "$X" -cf "$BATS_TEST_TMPDIR/bad.tar" .
	run "$HUTCH" load -i "$BATS_TEST_TMPDIR/bad.tar"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *"does not match its digest"* ]]
	size=$(stat -c %s "$BATS_TEST_TMPDIR/o.tar")
	head -c $((size / 2)) "$BATS_TEST_TMPDIR/o.tar" >"$BATS_TEST_TMPDIR/short.tar"
	run "$HUTCH" load -i "$BATS_TEST_TMPDIR/short.tar"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ $output == *truncated* ]]
	echo "hello" >"$BATS_TEST_TMPDIR/text"
	run "$HUTCH" load -i "$BATS_TEST_TMPDIR/text"
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	run "$HUTCH" load -i "$BATS_TEST_TMPDIR/nonexistent"
	[ "$status" -eq 1 ]
	[[ $output == *nonexistent* ]]
	store_is_empty_and_sound
}

@test "save: unknown image, bad format and a terminal are refused; no partial file" {
	run "$HUTCH" save -o "$BATS_TEST_TMPDIR/n.tar" arc:1 nosuch:1
	[ "$status" -eq 1 ]
	[[ $output == *"No such image: nosuch:1"* ]]
	[ -z "$(ls "$BATS_TEST_TMPDIR" | grep n.tar)" ]
	run "$HUTCH" save --format zip arc:1
	[ "$status" -eq 125 ]
	[[ $output == *docker-archive* ]]
	run "$HUTCH" save
	[ "$status" -eq 1 ]
}
