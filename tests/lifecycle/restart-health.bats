#!/usr/bin/env bats
# restart-health.bats - --restart's back-off (Docker's: 100 ms doubled up
# to a minute), always and unless-stopped, and health checks of detached
# containers (--health-*, an image's HEALTHCHECK) (issue 16)

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
	D=$BATS_TEST_TMPDIR/data
	mkdir -p "$D"
}

teardown() {
	"$HUTCH" ps -aq 2>/dev/null | xargs -r "$HUTCH" rm -f >/dev/null 2>&1 || true
}

# runs FILE: how many times the container's command ran (a line each).
runs() {
	[ -f "$1" ] && wc -l <"$1" || echo 0
}

# at_least N FILE
at_least() {
	(($(runs "$2") >= $1))
}

# inspect_is NAME TEMPLATE VALUE
inspect_is() {
	[ "$("$HUTCH" inspect -f "$2" "$1" 2>/dev/null)" = "$3" ]
}

# ps_says NAME TEXT: ps's STATUS of NAME contains TEXT.
ps_says() {
	[[ $("$HUTCH" ps -a --filter "name=$1" --format '{{.Status}}') == *"$2"* ]]
}

# now_ms: the wall clock in milliseconds.
now_ms() {
	echo $((${EPOCHREALTIME/./} / 1000))
}

@test "--restart on-failure backs off, shows Restarting, and stop ends the wait at once" {
	local t0 t1
	t0=$(now_ms)
	"$HUTCH" run -d --restart on-failure --rootfs "$R" -v "$D:/data" --name flaky -- sh -c 'echo x >>/data/runs; exit 3' >/dev/null
	wait_for 10 ps_says flaky "Restarting (3)"
	wait_for 10 inspect_is flaky '{{.State.Status}} {{.State.Restarting}}' "restarting true"
	# Runs 1..4 are 100 + 200 + 400 ms apart at least; without a back-off
	# there were dozens a second.
	wait_for 20 at_least 4 "$D/runs"
	t1=$(now_ms)
	((t1 - t0 >= 700))
	# By the sixth run the next wait is 3.2 s: stop must not sit it out.
	wait_for 20 at_least 6 "$D/runs"
	wait_for 10 inspect_is flaky '{{.State.Restarting}}' true
	t0=$(now_ms)
	run "$HUTCH" stop flaky
	t1=$(now_ms)
	[ "$status" -eq 0 ]
	((t1 - t0 < 3000))
	run "$HUTCH" inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Restarting}} {{.HostConfig.RestartPolicy.Name}}' flaky
	[ "$output" = "exited 3 false on-failure" ]
	n=$(runs "$D/runs")
	run "$HUTCH" inspect -f '{{.RestartCount}}' flaky
	((output >= 5))
	# Nothing runs it any more.
	run pgrep -u "$(id -u)" -f "container-monitor $("$HUTCH" inspect -f '{{.Id}}' flaky)"
	[ "$status" -ne 0 ]
	[ "$(runs "$D/runs")" -eq "$n" ]
}

@test "--restart always and unless-stopped restart after exit 0 too; rm -f ends a restarting container" {
	"$HUTCH" run -d --restart always --rootfs "$R" -v "$D:/data" --name again -- sh -c 'echo x >>/data/always; exit 0' >/dev/null
	wait_for 10 at_least 3 "$D/always"
	run "$HUTCH" inspect -f '{{.HostConfig.RestartPolicy.Name}}' again
	[ "$output" = always ]
	run "$HUTCH" rm -f again
	[ "$status" -eq 0 ]
	run "$HUTCH" ps -aq
	[ "$output" = "" ]
	"$HUTCH" run -d --restart unless-stopped --rootfs "$R" -v "$D:/data" --name until -- sh -c 'echo x >>/data/until; sleep 1000' >/dev/null
	wait_for 10 at_least 1 "$D/until"
	# A stop is final, as in Docker until the daemon restarts (and hutch
	# has none: nothing restarts containers after a reboot).
	"$HUTCH" stop -t 1 until >/dev/null
	run "$HUTCH" inspect -f '{{.State.Status}} {{.RestartCount}} {{.HostConfig.RestartPolicy.Name}}' until
	[ "$output" = "exited 0 unless-stopped" ]
	run "$HUTCH" run -d --restart sometimes --rootfs "$R" -- true
	[ "$status" -eq 125 ]
	[[ $output == *"use no, on-failure[:N], always or unless-stopped"* ]]
}

@test "--health-cmd: starting, unhealthy after the retries, healthy after a success; ps and inspect say so" {
	"$HUTCH" run -d --rootfs "$R" --name doc --health-cmd 'test -e /tmp/ok && echo fine' \
		--health-interval 100ms --health-retries 2 -- sleep 1000 >/dev/null
	run "$HUTCH" inspect -f '{{json .Config.Healthcheck}}' doc
	[ "$(jq -c . <<<"$output")" = '{"Test":["CMD-SHELL","test -e /tmp/ok && echo fine"],"Interval":100000000,"Retries":2}' ]
	wait_for 20 inspect_is doc '{{.State.Health.Status}}' unhealthy
	wait_for 10 ps_says doc "(unhealthy)"
	# Five results are kept, the newest last.
	wait_for 20 inspect_is doc '{{.State.Health.FailingStreak}}' 6
	run "$HUTCH" inspect -f '{{json .State.Health.Log}}' doc
	[ "$(jq length <<<"$output")" -eq 5 ]
	[ "$(jq '.[4].ExitCode' <<<"$output")" -eq 1 ]
	"$HUTCH" exec doc touch /tmp/ok
	wait_for 20 inspect_is doc '{{.State.Health.Status}} {{.State.Health.FailingStreak}}' "healthy 0"
	wait_for 10 ps_says doc "(healthy)"
	run "$HUTCH" inspect -f '{{json .State.Health.Log}}' doc
	[ "$(jq -r '.[4].Output' <<<"$output")" = fine ]
	[ "$(jq '.[4].ExitCode' <<<"$output")" -eq 0 ]
	# The last report stays with the stopped container.
	"$HUTCH" stop -t 1 doc >/dev/null
	run "$HUTCH" inspect -f '{{.State.Status}} {{.State.Health.Status}}' doc
	[ "$output" = "exited healthy" ]
}

@test "an image's HEALTHCHECK runs, also in hutch's old form; timeouts fail; --no-healthcheck runs none" {
	# Docker's form, as build writes it.
	"$HUTCH" import --config-json '{"Healthcheck":{"Test":["CMD","sh","-c","exit 0"],"Interval":100000000},"Cmd":["sleep","1000"]}' "$R" checked:1 >/dev/null
	# What hutch wrote before: the shell's argv without CMD.
	"$HUTCH" import --config-json '{"Healthcheck":{"Test":["/bin/sh","-c","echo old; exit 0"],"Interval":100000000,"Timeout":0,"StartPeriod":0,"Retries":0},"Cmd":["sleep","1000"]}' "$R" oldform:1 >/dev/null
	"$HUTCH" run -d --name new checked:1 >/dev/null
	"$HUTCH" run -d --name old oldform:1 >/dev/null
	wait_for 20 inspect_is new '{{.State.Health.Status}}' healthy
	wait_for 20 inspect_is old '{{.State.Health.Status}}' healthy
	run "$HUTCH" inspect -f '{{json .Config.Healthcheck.Test}}' old
	[ "$output" = '["CMD","/bin/sh","-c","echo old; exit 0"]' ]
	# run's options over the image's: the command stays, the timeout
	# is ours, and a check that outlives it fails.
	"$HUTCH" run -d --name slow --health-cmd 'sleep 5' --health-timeout 200ms \
		--health-interval 100ms --health-retries 1 checked:1 >/dev/null
	wait_for 20 inspect_is slow '{{.State.Health.Status}}' unhealthy
	run "$HUTCH" inspect -f '{{json .State.Health.Log}}' slow
	[ "$(jq -r '.[0].Output' <<<"$output")" = "Health check exceeded timeout (200ms)" ]
	[ "$(jq '.[0].ExitCode' <<<"$output")" -eq -1 ]
	"$HUTCH" run -d --name none --no-healthcheck checked:1 >/dev/null
	run "$HUTCH" inspect -f '{{json .State}}' none
	[[ $output != *Health* ]]
	run "$HUTCH" ps --filter name=none --format '{{.Status}}'
	[[ $output != *health* ]]
	run "$HUTCH" run -d --health-interval 500us checked:1
	[ "$status" -eq 125 ]
	[[ $output == *"at least 1ms"* ]]
}
