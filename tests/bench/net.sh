#!/usr/bin/env bash
# tests/bench/net.sh - hutch-net against slirp4netns and pasta, in one run,
# with the host's loopback as the limit.
#
# usage: tests/bench/net.sh [--build DIR] [--time S] [--rounds N] [--tools LIST]
#
#   --build DIR   where hutch-net was built (default: build)
#   --time S      seconds per iperf3/wrk run (default: 5)
#   --rounds N    rounds, tools interleaved in each; the table shows medians
#                 (default: 3; a shared machine's noise is large)
#   --tools LIST  space-separated subset of "hutch slirp4netns pasta"
#
# Each tool serves a fresh container (unshare: user, net and pid
# namespaces) with MTU 65520. Measured:
#   ready ms      from starting the tool to the first TCP connection that
#                 succeeds from the container to the host
#   out/in Gbit/s iperf3 from the container to a server on the host's
#                 loopback (via 10.0.2.2, or pasta's mapped gateway), 1 and
#                 4 streams, and reversed (-R: host to container)
#   pub Gbit/s    iperf3 through a published port, host to container and
#                 reversed
#   req/s, ms     wrk -t2 -c32 through a published port to a small C HTTP
#                 server (tests/net/httpd.c) in the container
#   CPU s/GB      the tool's CPU time (all its processes) per GB moved
#   RSS           the tool's resident memory at the end, and its peak
# The "host" column runs the same clients against servers on the host's
# loopback directly: the limit. Ratios are hutch-net's over the others'.
# Needs: iperf3 wrk slirp4netns passt socat python3 cc (tests/net/deps).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
build=build
T=5
rounds=3
tools="hutch slirp4netns pasta"
while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--time) T=$2; shift 2 ;;
	--tools) tools=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	-h | --help) sed -n '2,25p' "$0"; exit 0 ;;
	*) echo "net.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
HUTCH_NET=${BENCH_HUTCH_NET:-$here/$build/hutch-net}
[ -x "$HUTCH_NET" ] || { echo "net.sh: build $HUTCH_NET first" >&2; exit 1; }
# Rootless is what is measured: as root, the same script runs as the
# unprivileged user hutch-sub (tests/run makes it) or hutch-bench. pasta
# started as root also drops to nobody, which cannot join the namespaces.
if [ "$(id -u)" = 0 ]; then
	user=hutch-sub
	id "$user" >/dev/null 2>&1 || { user=hutch-bench; id "$user" >/dev/null 2>&1 || useradd -m "$user"; }
	copy=$(mktemp -d /tmp/hutch-bench-net.XXXXXX)
	mkdir -p "$copy/tests/bench" "$copy/tests/net"
	cp "$HUTCH_NET" "$copy/"
	cp "$0" "$copy/tests/bench/net.sh"
	cp "$here/tests/net/httpd.c" "$copy/tests/net/"
	chown -R "$user" "$copy"
	chmod 0755 "$copy"
	st=0
	runuser -u "$user" -- env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
		HOME="$(getent passwd "$user" | cut -d: -f6)" BENCH_HUTCH_NET="$copy/hutch-net" \
		bash "$copy/tests/bench/net.sh" --time "$T" --rounds "$rounds" --tools "$tools" || st=$?
	rm -rf "$copy"
	exit "$st"
fi
for t in iperf3 wrk slirp4netns pasta socat python3 cc; do
	command -v "$t" >/dev/null || { echo "net.sh: missing $t (tests/deps.sh --bench)" >&2; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -o "$work/httpd" "$here/tests/net/httpd.c"
HZ=$(getconf CLK_TCK)

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_file() { # wait_file FILE PATTERN: up to 10 s
	local i
	for i in $(seq 500); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	echo "net.sh: timed out waiting for '$2' in $1" >&2
	return 1
}

# Host-side servers for the outbound tests and the loopback limit.
IPERF_HOST=$(free_port)
HTTP_HOST=$(free_port)
PROBE_HOST=$(free_port)
iperf3 -s -B 127.0.0.1 -p "$IPERF_HOST" >/dev/null 2>&1 &
pids+=($!)
"$work/httpd" 127.0.0.1 "$HTTP_HOST" >"$work/httpd.host" &
pids+=($!)
socat TCP-LISTEN:"$PROBE_HOST",bind=127.0.0.1,reuseaddr,fork SYSTEM:true &
pids+=($!)
wait_file "$work/httpd.host" listening

declare -A R # R[tool,metric] = the values of every round, space-separated

put() { # put TOOL KEY VALUE
	R[$1,$2]="${R[$1,$2]:-} $3"
}

# med TOOL KEY: the median of the rounds' values ("-" when none).
med() {
	python3 -c '
import sys
v = sorted(float(x) for x in sys.argv[1:] if x not in ("-", "fail"))
if not v: print("-")
else:
    m = v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
    print("%.0f" % m if m >= 100 or m == int(m) else "%.2f" % m)' ${R[$1,$2]:-}
}

# cpu_ticks PID...: user+system ticks of the processes (and their threads).
cpu_ticks() {
	local p sum=0
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] || continue
		sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$sum"
}

mem_kb() { # mem_kb FIELD PID...: sum of VmRSS or VmHWM
	local f=$1 p sum=0
	shift
	for p in "$@"; do
		[ -r "/proc/$p/status" ] || continue
		sum=$((sum + $(awk -v f="$f:" '$1 == f { print $2 }' "/proc/$p/status")))
	done
	echo "$sum"
}

# iperf TOOL KEY CPU-PIDS -- iperf3 args: Gbit/s into R[TOOL,KEY], and
# CPU seconds per GB into R[TOOL,KEY.cpu] when CPU-PIDS are given.
iperf() {
	local tool=$1 key=$2 cpids=$3 before after json
	shift 4
	before=$(cpu_ticks $cpids)
	json=$("$@" -t "$T" -J) || { put "$tool" "$key" fail; return 0; }
	after=$(cpu_ticks $cpids)
	read -r gbps bytes < <(python3 -c '
import json, sys
e = json.load(sys.stdin)["end"]["sum_received"]
print("%.2f %d" % (e["bits_per_second"] / 1e9, e["bytes"]))' <<<"$json")
	put "$tool" "$key" "$gbps"
	if [ -n "$cpids" ]; then
		put "$tool" "$key.cpu" "$(python3 -c "print('%.3f' % (($after - $before) / $HZ / ($bytes / 1e9)))")"
	fi
}

# wrk_run TOOL URL: requests/s and latency (avg, p99) in ms.
wrk_run() {
	local out
	out=$(wrk -t2 -c32 -d"${T}s" --latency "$2") || { put "$1" rps fail; return 0; }
	put "$1" rps "$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")"
	put "$1" lat "$(awk '$1 == "Latency" && NF >= 4 { print $2; exit }' <<<"$out" | to_ms)"
	put "$1" p99 "$(awk '$1 == "99%" { print $2 }' <<<"$out" | to_ms)"
}

to_ms() { # "812.00us", "1.82ms", "1.01s" -> milliseconds
	awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /[0-9]s$/ && $1 !~ /ms$/) v *= 1000; printf "%.3f\n", v }'
}

# ctr_start: a container with httpd on :8080 and iperf3 -s on :5201.
ctr_start() {
	unshare --user --map-root-user --net --pid --fork --kill-child \
		--mount-proc sleep infinity &
	CPID=$!
	pids+=($CPID)
	local i
	for i in $(seq 500); do
		CINIT=$(cat "/proc/$CPID/task/$CPID/children" 2>/dev/null || true)
		[ -n "$CINIT" ] && break
		sleep 0.01
	done
	CINIT=${CINIT%% *}
}

ctr() { nsenter -t "$CINIT" -U -n -p --preserve-credentials -- "$@"; }

ctr_servers() {
	ctr "$work/httpd" 0.0.0.0 8080 >"$work/httpd.ctr" &
	ctr iperf3 -s -p 5201 >/dev/null 2>&1 &
	wait_file "$work/httpd.ctr" listening
}

# probe_start: in the container, connect to GW:PROBE_HOST every ms until it
# works; prints the monotonic time of success into $work/probe.
probe_start() {
	rm -f "$work/probe"
	ctr python3 -c '
import socket, sys, time, subprocess
gw = None
while True:
    if gw is None:
        out = subprocess.run(["ip", "-4", "route", "show", "default"],
                             capture_output=True, text=True).stdout.split()
        gw = out[2] if len(out) > 2 else None
    if gw:
        try:
            socket.create_connection((gw, int(sys.argv[1])), 0.05).close()
            print(time.monotonic(), gw, flush=True)
            break
        except OSError:
            pass
    time.sleep(0.001)' "$PROBE_HOST" >"$work/probe" &
}

now() { python3 -c 'import time; print(time.monotonic())'; }

start_hutch() {
	HP_HTTP=$(free_port)
	HP_IPERF=$(free_port)
	"$HUTCH_NET" --allow-host-loopback --ready-fd=3 -p "$HP_HTTP:8080" \
		-p "$HP_IPERF:5201" "$CINIT" 3>"$work/ready" &
	TOOL_PID=$!
	wait_file "$work/ready" ''
	TOOL_PIDS="$TOOL_PID $(pgrep -P "$TOOL_PID" | tr '\n' ' ')"
}

start_slirp4netns() {
	HP_HTTP=$(free_port)
	HP_IPERF=$(free_port)
	slirp4netns --configure --mtu=65520 --api-socket "$work/api.sock" \
		"$CINIT" eth0 >/dev/null 2>&1 &
	TOOL_PID=$!
	wait_file "$work/probe" .
	local p
	for p in "$HP_HTTP:8080" "$HP_IPERF:5201"; do
		echo "{\"execute\":\"add_hostfwd\",\"arguments\":{\"proto\":\"tcp\",\"host_addr\":\"127.0.0.1\",\"host_port\":${p%%:*},\"guest_port\":${p##*:}}}" |
			socat - UNIX-CONNECT:"$work/api.sock" >/dev/null
	done
	TOOL_PIDS=$TOOL_PID
}

start_pasta() {
	HP_HTTP=$(free_port)
	HP_IPERF=$(free_port)
	pasta --config-net -f -q --mtu 65520 -t "$HP_HTTP:8080,$HP_IPERF:5201" \
		-u none -T none -U none "$CINIT" >"$work/pasta.log" 2>&1 &
	TOOL_PID=$!
	TOOL_PIDS=$TOOL_PID
}

bench_tool() {
	local tool=$1 t0 t1 gw
	ctr_start
	ctr_servers
	probe_start
	t0=$(now)
	"start_$tool"
	if ! wait_file "$work/probe" .; then
		# One tool that cannot start is reported; the others go on.
		echo "net.sh: $tool: the network never became usable: $(tail -n 2 "$work/$tool.log" 2>/dev/null | tr '\n' ' ')" >&2
		put "$tool" ready fail
		kill "$TOOL_PID" 2>/dev/null || true
		kill -KILL "$CPID" 2>/dev/null || true
		wait "$TOOL_PID" "$CPID" 2>/dev/null || true
		return 0
	fi
	read -r t1 gw <"$work/probe"
	put "$tool" ready "$(python3 -c "print('%.0f' % (($t1 - $t0) * 1000))")"
	iperf "$tool" out1 "$TOOL_PIDS" -- ctr iperf3 -c "$gw" -p "$IPERF_HOST"
	iperf "$tool" out4 "$TOOL_PIDS" -- ctr iperf3 -c "$gw" -p "$IPERF_HOST" -P 4
	iperf "$tool" in1 "$TOOL_PIDS" -- ctr iperf3 -c "$gw" -p "$IPERF_HOST" -R
	iperf "$tool" in4 "$TOOL_PIDS" -- ctr iperf3 -c "$gw" -p "$IPERF_HOST" -R -P 4
	iperf "$tool" pub "$TOOL_PIDS" -- iperf3 -c 127.0.0.1 -p "$HP_IPERF"
	iperf "$tool" pubr "$TOOL_PIDS" -- iperf3 -c 127.0.0.1 -p "$HP_IPERF" -R
	wrk_run "$tool" "http://127.0.0.1:$HP_HTTP/"
	put "$tool" rss "$(mem_kb VmRSS $TOOL_PIDS)"
	put "$tool" hwm "$(mem_kb VmHWM $TOOL_PIDS)"
	kill "$TOOL_PID" 2>/dev/null || true
	kill -KILL "$CPID" 2>/dev/null || true
	wait "$TOOL_PID" "$CPID" 2>/dev/null || true
}

bench_host() {
	iperf host out1 "" -- iperf3 -c 127.0.0.1 -p "$IPERF_HOST"
	iperf host out4 "" -- iperf3 -c 127.0.0.1 -p "$IPERF_HOST" -P 4
	iperf host in1 "" -- iperf3 -c 127.0.0.1 -p "$IPERF_HOST" -R
	iperf host in4 "" -- iperf3 -c 127.0.0.1 -p "$IPERF_HOST" -R -P 4
	wrk_run host "http://127.0.0.1:$HTTP_HOST/"
}

for round in $(seq "$rounds"); do
	for tool in $tools; do
		echo "net.sh: round $round: $tool" >&2
		bench_tool "$tool"
	done
	echo "net.sh: round $round: the host's loopback" >&2
	bench_host
done
# Through a published port the limit is the host's own loopback.
R[host,pub]=${R[host,out1]}
R[host,pubr]=${R[host,in1]}

cols="$tools host"
row() { # row LABEL KEY
	local c
	printf '| %-38s' "$1"
	for c in $cols; do printf '| %12s ' "$(med "$c" "$2")"; done
	printf '|\n'
}
ratio() { # ratio A B KEY: A/B
	python3 -c "
a, b = '$(med "$1" "$3")', '$(med "$2" "$3")'
try: print('%.2fx' % (float(a) / float(b)))
except Exception: print('-')"
}

echo
echo "hutch-net benchmark: $(nproc) CPUs, $(uname -r), ${T}s per run, MTU 65520, median of $rounds rounds"
echo
printf '| %-38s' metric
for c in $cols; do printf '| %12s ' "$c"; done
printf '|\n|%s' "$(printf -- '-%.0s' $(seq 39))"
for c in $cols; do printf '|%s' "$(printf -- '-%.0s' $(seq 14))"; done
printf '|\n'
row "ready (ms)" ready
row "container->host 1 stream (Gbit/s)" out1
row "container->host 4 streams (Gbit/s)" out4
row "host->container 1 stream (Gbit/s)" in1
row "host->container 4 streams (Gbit/s)" in4
row "published port, in (Gbit/s)" pub
row "published port, out (Gbit/s)" pubr
row "published port HTTP (req/s)" rps
row "published port HTTP latency avg (ms)" lat
row "published port HTTP latency p99 (ms)" p99
row "CPU s/GB container->host" out1.cpu
row "CPU s/GB host->container" in1.cpu
row "CPU s/GB published port in" pub.cpu
row "RSS at end (KiB)" rss
row "RSS peak (KiB)" hwm
echo
if [[ " $tools " == *" hutch "* ]]; then
	for other in slirp4netns pasta host; do
		[[ " $cols " == *" $other "* ]] || continue
		echo "hutch-net / $other: out1 $(ratio hutch $other out1)," \
			"out4 $(ratio hutch $other out4), in1 $(ratio hutch $other in1)," \
			"in4 $(ratio hutch $other in4), published in $(ratio hutch $other pub)," \
			"published out $(ratio hutch $other pubr), req/s $(ratio hutch $other rps)"
	done
fi
