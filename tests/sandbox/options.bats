#!/usr/bin/env bats
# options.bats - the answer to Docker's options that hutch leaves out, and
# to options it does not know (issue 16)

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
}

teardown() {
	"$HUTCH" ps -aq 2>/dev/null | xargs -r "$HUTCH" rm -f >/dev/null 2>&1 || true
}

@test "options hutch leaves out say why and what to use; typos get the closest option" {
	expect_plain_error 125 "$HUTCH" run --privileged --rootfs "$R" -- true
	[[ $stderr == "hutch: run: --privileged is not supported by hutch: "*"; use --cap-add"* ]]
	expect_plain_error 125 "$HUTCH" run --device-cgroup-rule 'c 1:3 r' --rootfs "$R" -- true
	[[ $stderr == *"--device-cgroup-rule is not supported by hutch: "*"; use -v /dev/NAME:/dev/NAME"* ]]
	expect_plain_error 125 "$HUTCH" build --cache-from x "$BATS_TEST_TMPDIR"
	[[ $stderr == "hutch: build: --cache-from is not supported by hutch: "* ]]
	expect_plain_error 125 "$HUTCH" run --netwrok host --rootfs "$R" -- true
	[ "$stderr" = "hutch: run: unknown option --netwrok; did you mean --network? (see 'hutch run --help')" ]
	expect_plain_error 125 "$HUTCH" ps --al
	[[ $stderr == *"did you mean --all?"* ]]
	expect_plain_error 125 "$HUTCH" run --frobnicate --rootfs "$R" -- true
	[ "$stderr" = "hutch: run: unknown option --frobnicate; see 'hutch run --help'" ]
}

@test "run --add-host, --shm-size, --ulimit and --label reach the container and inspect" {
	run "$HUTCH" run --name opts --rootfs "$R" --add-host db:10.1.2.3 --add-host v6=fd00::5 \
		--add-host gw:host-gateway --shm-size 8m --ulimit nofile=100:200 -l team=ml -l solo -- \
		sh -c 'grep -v "^#" /etc/hosts; df -k /dev/shm | tail -1; ulimit -n; ulimit -Hn'
	[ "$status" -eq 0 ]
	[[ $output == *$'10.1.2.3\tdb'* ]]
	[[ $output == *$'fd00::5\tv6'* ]]
	[[ $output == *$'127.0.0.1\tgw'* ]]
	[[ ${lines[-3]} =~ ^tmpfs\ +8192\  ]]
	[ "${lines[-2]}" = 100 ] && [ "${lines[-1]}" = 200 ]
	run "$HUTCH" inspect -f '{{json .Config.Labels}} {{json .HostConfig.ExtraHosts}} {{.HostConfig.ShmSize}} {{json .HostConfig.Ulimits}}' opts
	[ "$output" = '{"team":"ml","solo":""} ["db:10.1.2.3","v6:fd00::5","gw:host-gateway"] 8388608 [{"Name":"nofile","Soft":100,"Hard":200}]' ]
	# The image's labels, under those of --label, as Docker merges them.
	"$HUTCH" import --config-json '{"Labels":{"team":"web","org":"lab"}}' "$R" labelled:1 >/dev/null
	"$HUTCH" run --name merged -l team=ml labelled:1 true
	run "$HUTCH" inspect -f '{{.Config.Labels.team}} {{.Config.Labels.org}}' merged
	[ "$output" = "ml lab" ]
	# A hard limit above hutch's own cannot be had in a user namespace.
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --ulimit "nofile=10:$(($(ulimit -Hn) + 1))" -- true
	[[ $stderr == *"a rootless container cannot raise it; ask for at most $(ulimit -Hn)"* ]]
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --ulimit nofiles=1 -- true
	[[ $stderr == *'invalid --ulimit "nofiles=1": write NAME=SOFT[:HARD]'* ]]
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --add-host db:10.1.2 -- true
	[[ $stderr == *'invalid --add-host "db:10.1.2": bad IP address'* ]]
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --memory 4g -- true
	[[ $stderr == "hutch: run: --memory is not supported by hutch: "*"; use systemd-run --user --scope -p MemoryMax=4G"* ]]
	expect_plain_error 125 "$HUTCH" run --rm --rootfs "$R" --cpus 2 -- true
	[[ $stderr == *"--cpus is not supported by hutch: "* ]]
}

@test "run --platform and --pull: a store image of another platform is refused, never does not pull" {
	"$HUTCH" import "$R" base:1 >/dev/null
	here=$("$HUTCH" version --format '{{.Client.Os}}/{{.Client.Arch}}')
	run "$HUTCH" run --rm --platform "$here" base:1 echo fine
	[ "$status" -eq 0 ] && [ "$output" = fine ]
	expect_plain_error 125 "$HUTCH" run --rm --platform linux/s390x base:1 true
	[[ $stderr == *"image with reference "*"base:1 was found but does not match the specified platform: wanted linux/s390x, actual: $here"* ]]
	expect_plain_error 125 "$HUTCH" run --rm --platform s390x base:1 true
	[[ $stderr == *'write OS/ARCH[/VARIANT]'* ]]
	run "$HUTCH" run --rm --pull never base:1 echo local
	[ "$output" = local ]
	expect_plain_error 125 "$HUTCH" run --rm --pull never nothere:1 true
	[[ $stderr == *"No such image: nothere:1"* ]]
	# always pulls what the store has: here no registry can be reached.
	run "$HUTCH" run --rm --pull always base:1 true
	[ "$status" -eq 125 ]
	[[ $output == *"cannot reach registry"* ]]
	[[ $output != *"Unable to find image"* ]]
	expect_plain_error 125 "$HUTCH" run --rm --pull sometimes base:1 true
	[[ $stderr == *"use missing (the default), always or never"* ]]
}

@test "container and image command groups; version --format" {
	"$HUTCH" run --name grouped --rootfs "$R" -- true
	[ "$("$HUTCH" container ls -a --format '{{.Names}}')" = grouped ]
	[ "$("$HUTCH" container ls -a -q)" = "$("$HUTCH" ps -aq)" ]
	"$HUTCH" container rm grouped >/dev/null
	[ "$("$HUTCH" ps -aq)" = "" ]
	"$HUTCH" import "$R" img:1 >/dev/null
	[ "$("$HUTCH" image ls --format '{{.Repository}}:{{.Tag}}')" = "img:1" ]
	"$HUTCH" image rm img:1 >/dev/null
	[ "$("$HUTCH" images -q)" = "" ]
	run "$HUTCH" container frobnicate
	[ "$status" -eq 1 ]
	[ "$output" = "hutch: 'container frobnicate' is not a hutch command; see 'hutch container --help'" ]
	run "$HUTCH" version --format '{{.Client.Version}}'
	[ "$status" -eq 0 ]
	[ "hutch version $output" = "$("$HUTCH" --version)" ]
	run "$HUTCH" version --format '{{.Client.Nope}}'
	[ "$status" -eq 125 ]
}
