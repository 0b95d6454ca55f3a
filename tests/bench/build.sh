#!/usr/bin/env bash
# tests/bench/build.sh - building the Flask example (examples/flask) cold,
# warm and after an edit: hutch vs rootless podman vs Charliecloud's ch-image
#
# usage: tests/bench/build.sh [--build DIR] [--rounds N] [--base-tar FILE]
#                             [--tools "hutch podman podman-fuse podman-hostnet podman-vfs ch-image"]
#
# The base: a Debian bookworm minbase tarball (--base-tar, default
# /var/cache/hutch-demo/debian-bookworm.tar; made with
# examples/debian-base.sh when missing and run as root), `hutch import`ed
# and `hutch push`ed to Debian's docker-registry on 127.0.0.1 (a random
# port) over https with a throw-away self-signed certificate: ch-image
# 0.31 speaks https only, so one https registry serves every tool alike
# (hutch: loopback registries are insecure by default; podman
# --tls-verify=false; ch-image --tls-no-verify). The Dockerfile is the
# example's own (FROM ${BASE}; RUN apt-get update && apt-get install
# python3 python3-flask; COPY . /app; ...): apt-get fetches from the
# Debian mirror of /etc/apt/sources.list in every cold build.
#
# Each round runs every tool in turn (the order rotates, so that load and
# mirror drift hit every tool alike), each in a fresh, empty store:
#   cold   build with an empty store and no cache: includes pulling the
#          base from the local registry, the RUN step (apt-get from the
#          mirror), COPY, and committing the image
#   warm   the same build again, nothing changed (every step cached)
#   edit   a line appended to app.py, then the build again: RUN must come
#          from the cache, COPY and after must re-run
# `sync` runs before every timing. The script checks what it measures:
# apt-get's output must appear in the cold build's log and in no other
# (else the table says "MISS": the cache was not used), and after the edit
# the built image's /app/app.py must end with the appended line.
# The table shows the median seconds and each tool's time over hutch's
# (the median of the per-round ratios; above 1: hutch is faster).
#
# The tools (--tools; the default is "hutch podman ch-image"):
#   hutch           hutch build; its defaults (storage driver auto, RUN
#                   network host)
#   podman          rootless podman build (Debian's 4.3), its default
#                   storage location ($XDG_DATA_HOME/containers under the
#                   work folder) with the storage Debian's storage.conf sets
#                   (containers-storage: driver overlay, mountopt nodev: the
#                   kernel's overlayfs in the user namespace); without that
#                   package, which podman only suggests, podman falls back to
#                   vfs. Default RUN network (slirp4netns); file events and
#                   cgroupfs (no systemd session); runc where the host has
#                   hybrid cgroups (crun refuses them)
#   podman-fuse     the same with mount_program fuse-overlayfs
#   podman-hostnet  the same as podman with build --network host (hutch's
#                   and ch-image's RUN network)
#   podman-vfs      podman with no storage.conf at all (vfs)
#   ch-image        Charliecloud's ch-image build --force (charliecloud-
#                   builders + charliecloud-runtime): plain directories and
#                   a git build cache; --force injects fakeroot, apt-get's
#                   way without subordinate ids (one more apt-get install)
# The notes above the table say what each tool ran with (podman info).
# A tool that is missing or fails is reported with why; the others go on.
# Run as root, it runs as the unprivileged user hutch-sub (created by
# tests/run) or else hutch-bench, which it creates with /etc/subuid and
# /etc/subgid ranges.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=out rounds=3 tools="hutch podman ch-image"
base_tar=/var/cache/hutch-demo/debian-bookworm.tar
while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--tools) tools=$2; shift 2 ;;
	--base-tar) base_tar=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	*) echo "usage: $0 [--build DIR] [--rounds N] [--tools \"hutch podman ch-image\"] [--base-tar FILE]; see --help" >&2; exit 2 ;;
	esac
done
for t in docker-registry openssl curl python3; do
	command -v "$t" >/dev/null || { echo "build.sh: missing $t: run tests/deps.sh --bench" >&2; exit 1; }
done

if [ "$(id -u)" = 0 ]; then
	[ -x "$here/$build/hutch" ] || { echo "build.sh: no $here/$build/hutch: build it (make BUILD=$build)" >&2; exit 1; }
	user=hutch-sub
	if ! id "$user" >/dev/null 2>&1 || ! grep -q "^$user:" /etc/subuid; then
		user=hutch-bench
		id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$user"
		if ! grep -q "^$user:" /etc/subuid || ! grep -q "^$user:" /etc/subgid; then
			# The next free 65536 ids after every range given so far.
			start=$(cat /etc/subuid /etc/subgid 2>/dev/null |
				awk -F: 'BEGIN { m = 100000 } NF == 3 && $2 + $3 > m { m = $2 + $3 } END { print m }')
			usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" "$user"
		fi
	fi
	if [ ! -s "$base_tar" ]; then
		echo "build.sh: no base tarball $base_tar: building it with examples/debian-base.sh (a few minutes, once)"
		mkdir -p "$(dirname "$base_tar")"
		"$here/examples/debian-base.sh" "$base_tar"
	fi
	work=$(mktemp -d "${TMPDIR:-/var/tmp}/hutch-bench-build.XXXXXX")
	mkdir -p "$work/bin" "$work/tests/lib" "$work/tests/bench" "$work/examples"
	cp "$here/$build/hutch" "$work/bin/"
	for h in hutch-net hutch-overlay; do
		[ -x "$here/$build/$h" ] && cp "$here/$build/$h" "$work/bin/"
	done
	cp "$here/tests/lib/common.bash" "$work/tests/lib/"
	cp "$0" "$work/tests/bench/build.sh"
	cp -r "$here/examples/flask" "$work/examples/"
	chown -R "$user:" "$work"
	chmod 0755 "$work"
	# The tarball is read where it is when the user can, else copied.
	if ! runuser -u "$user" -- test -r "$base_tar"; then
		cp "$base_tar" "$work/base.tar"
		chown "$user:" "$work/base.tar"
		base_tar=$work/base.tar
	fi
	# A clean environment: /usr/bin first (ch-image's "env python3" must
	# be Debian's, with python3-lark), no root's XDG or proxy settings.
	exec runuser -u "$user" -- env -i PATH="/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
		HOME="$(getent passwd "$user" | cut -d: -f6)" USER="$user" LOGNAME="$user" LANG=C.UTF-8 \
		BENCH_HUTCH="$work/bin/hutch" BENCH_DIR="$work" TMPDIR="${TMPDIR:-/var/tmp}" \
		bash "$work/tests/bench/build.sh" --rounds "$rounds" --tools "$tools" --base-tar "$base_tar"
fi

HUTCH=${BENCH_HUTCH:-$here/$build/hutch}
[ -x "$HUTCH" ] || { echo "build.sh: no $HUTCH: build it (make BUILD=$build)" >&2; exit 1; }
[ -s "$base_tar" ] || { echo "build.sh: no base tarball $base_tar: make it with examples/debian-base.sh $base_tar" >&2; exit 1; }
work=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/var/tmp}/hutch-bench-build.XXXXXX")}
chmod 0755 "$work"
flask=$here/examples/flask
[ -d "$flask" ] || { echo "build.sh: no $flask" >&2; exit 1; }
lib=$(cd "$(dirname "$0")/../lib" && pwd)
export HUTCH HUTCH_BUILD=$work HUTCH_TESTS=$work/tests
bats_require_minimum_version() { :; }
# shellcheck source=../lib/common.bash
source "$lib/common.bash"

REG_PID=
# Podman's configuration home is an empty folder of ours: nothing of the
# user's own containers.conf or storage.conf is read.
mkdir -p "$work/xdg-config"

# wipe DIR: stores hold files of subordinate ids, which only a user
# namespace with them can delete.
wipe() {
	[ -e "$1" ] || return 0
	"$HUTCH" unshare rm -rf "$1" 2>/dev/null || rm -rf "$1" 2>/dev/null || true
}
# podman_pause_stop DIR: podman's rootless pause process (it holds the user
# namespace) of the run in DIR, stopped by the PID it wrote there.
podman_pause_stop() {
	local pid
	[ -f "$1/xdg/run/libpod/tmp/pause.pid" ] || return 0
	pid=$(cat "$1/xdg/run/libpod/tmp/pause.pid")
	if [ -n "$pid" ] && grep -qs -e catatonit -e podman "/proc/$pid/cmdline"; then
		kill "$pid" 2>/dev/null || true
	fi
}
cleanup() {
	local d
	if [ -n "$REG_PID" ] && grep -qs docker-registry "/proc/$REG_PID/cmdline"; then
		kill "$REG_PID" 2>/dev/null
		wait "$REG_PID" 2>/dev/null || true
	fi
	for d in "$work"/run-* "$work"/probe-*; do
		[ -d "$d" ] || continue
		podman_pause_stop "$d"
		wipe "$d"
	done
	wipe "$work"
}
trap cleanup EXIT

# ---- the registry (https, self-signed) and the base image ------------------
reg_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
reg_answers() {
	local code
	code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "https://$1/v2/") || return 1
	[ "$code" = 200 ]
}
mkdir -p "$work/reg/storage"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 \
	-keyout "$work/reg/key.pem" -out "$work/reg/cert.pem" 2>/dev/null
for try in 1 2 3; do
	port=$(reg_free_port)
	cat >"$work/reg/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/reg/storage
http:
  addr: 127.0.0.1:$port
  secret: hutch-bench-secret
  tls:
    certificate: $work/reg/cert.pem
    key: $work/reg/key.pem
EOF
	docker-registry serve "$work/reg/config.yml" >"$work/reg/log" 2>&1 </dev/null &
	REG_PID=$!
	wait_for 20 reg_answers "127.0.0.1:$port" && break
	kill "$REG_PID" 2>/dev/null || true
	wait "$REG_PID" 2>/dev/null || true
	REG_PID=
done
[ -n "$REG_PID" ] || { echo "build.sh: docker-registry did not start:" >&2; cat "$work/reg/log" >&2; exit 1; }
REG=127.0.0.1:$port
BASE=$REG/bench/debian:bookworm
(
	export HUTCH_ROOT=$work/seed/store HUTCH_RUNTIME=$work/seed/run
	"$HUTCH" import "$base_tar" "$BASE" >/dev/null
	"$HUTCH" push -q "$BASE" >/dev/null
) || { echo "build.sh: could not import and push the base image with hutch" >&2; exit 1; }
wipe "$work/seed"
base_mb=$(($(stat -c %s "$base_tar") / 1000000))

# ---- the contenders ----------------------------------------------------------
# build_TOOL I DIR CONTEXT LOG: build the context with tool I into its store
# under DIR. check_TOOL I DIR: print the built image's last line of
# /app/app.py.
build_hutch() {
	HUTCH_ROOT=$2/store HUTCH_RUNTIME=$2/run \
		"$HUTCH" build --build-arg "BASE=$BASE" -t bench/flask "$3" >"$4" 2>&1
}
check_hutch() {
	HUTCH_ROOT=$2/store HUTCH_RUNTIME=$2/run \
		"$HUTCH" run --rm --entrypoint tail bench/flask -n 1 /app/app.py
}

# Podman: its rootless default storage location ($XDG_DATA_HOME/containers)
# and runtime folder under DIR. Debian's podman 4.3 has no storage.conf of
# its own (Debian ships it in containers-storage, which podman only
# suggests): without one it picks vfs. The variants name their storage as
# that storage.conf would set it: driver "overlay", mountopt "nodev" (the
# kernel's overlayfs, native in the user namespace since Linux 5.13), or
# with mount_program fuse-overlayfs. crun 1.8 refuses hybrid cgroup
# hierarchies ("cgroups in hybrid mode not supported"), so where the host
# has one runc runs the containers.
podman_runtime=()
if grep -qs ' /sys/fs/cgroup/unified cgroup2' /proc/mounts || ! grep -qs ' /sys/fs/cgroup cgroup2' /proc/mounts; then
	command -v runc >/dev/null && podman_runtime=(--runtime runc)
fi
declare -A pstore pbuild
pstore[podman]="--storage-driver overlay --storage-opt overlay.mountopt=nodev"
pstore[podman-fuse]="--storage-driver overlay --storage-opt overlay.mountopt=nodev --storage-opt overlay.mount_program=/usr/bin/fuse-overlayfs"
pstore[podman-hostnet]=${pstore[podman]}
pstore[podman-vfs]=""
pbuild[podman-hostnet]="--network host"
podman_in() {
	local name=$1 dir=$2
	shift 2
	mkdir -p "$dir/xdg/data" "$dir/xdg/run"
	chmod 0700 "$dir/xdg/run"
	# shellcheck disable=SC2086 # the options are words
	XDG_DATA_HOME=$dir/xdg/data XDG_RUNTIME_DIR=$dir/xdg/run XDG_CONFIG_HOME=$work/xdg-config \
		podman --events-backend file --cgroup-manager cgroupfs "${podman_runtime[@]}" ${pstore[$name]} "$@"
}
build_podman() {
	# shellcheck disable=SC2086
	podman_in "${names[$1]}" "$2" build --tls-verify=false ${pbuild[${names[$1]}]:-} \
		--build-arg "BASE=$BASE" -t bench/flask "$3" >"$4" 2>&1
}
check_podman() {
	podman_in "${names[$1]}" "$2" run --rm --entrypoint tail bench/flask -n 1 /app/app.py
}

# ch-image keeps its build cache in git, which needs an identity to commit
# (none can be guessed on a host without a domain name).
build_chimage() {
	GIT_AUTHOR_NAME=hutch-bench GIT_AUTHOR_EMAIL=hutch-bench@localhost \
		GIT_COMMITTER_NAME=hutch-bench GIT_COMMITTER_EMAIL=hutch-bench@localhost \
		ch-image --tls-no-verify -s "$2/ch" build --force --build-arg "BASE=$BASE" -t bench/flask "$3" >"$4" 2>&1
}
check_chimage() {
	local f
	for f in "$2"/ch/img/*flask*/app/app.py; do
		[ -f "$f" ] && tail -n 1 "$f" && return 0
	done
	return 1
}

names=() funcs=() notes=()
for t in $tools; do
	case $t in
	hutch)
		names+=(hutch) funcs+=(hutch)
		notes+=("hutch $("$HUTCH" version 2>/dev/null | awk 'NR == 1 { print $2 }'): storage driver auto (kernel overlay: $(HUTCH_ROOT=$work/probe-h/store HUTCH_RUNTIME=$work/probe-h/run "$HUTCH" info 2>/dev/null | sed -n 's/^kernel overlay: //p')); RUN network: host (hutch's default for builds)")
		;;
	podman | podman-fuse | podman-hostnet | podman-vfs)
		if ! command -v podman >/dev/null; then
			echo "build.sh: podman is missing (apt-get install podman): $t not measured" >&2
			continue
		fi
		names+=("$t")
		if ! info=$(podman_in "$t" "$work/probe-$t" info --format '{{.Store.GraphDriverName}} {{.Store.GraphOptions}} {{.Store.GraphStatus}}' 2>&1); then
			echo "build.sh: podman info fails for $t: $(echo "$info" | tail -n 1): not measured" >&2
			unset 'names[-1]'
			continue
		fi
		funcs+=(podman)
		notes+=("$t $(podman --version | awk '{ print $NF }'): storage ${info//$'\n'/ }; RUN network: ${pbuild[$t]:-the default (rootless: slirp4netns)}; runtime: ${podman_runtime[1]:-default (crun)}")
		;;
	ch-image)
		why=
		if ! command -v ch-image >/dev/null; then
			why="ch-image is missing (apt-get install charliecloud-builders charliecloud-runtime)"
		elif ! command -v ch-run >/dev/null; then
			why="ch-run is missing (apt-get install charliecloud-runtime): ch-image needs it for RUN"
		elif ! chv=$(ch-image --version 2>&1); then
			why="ch-image does not start: $(echo "$chv" | tail -n 1)"
		fi
		if [ -n "$why" ]; then
			echo "build.sh: $why: ch-image not measured" >&2
			continue
		fi
		names+=(ch-image) funcs+=(chimage)
		notes+=("ch-image $chv: plain directories, build cache in git; --force (fakeroot injected: one more apt-get update + install fakeroot in the cold build); RUN network: host")
		;;
	*) echo "build.sh: unknown tool $t (hutch podman podman-fuse podman-hostnet podman-vfs ch-image)" >&2; exit 2 ;;
	esac
done
for d in "$work"/probe-*; do
	[ -d "$d" ] || continue
	podman_pause_stop "$d"
	wipe "$d"
done
[ "${names[0]:-}" = hutch ] || { echo "build.sh: --tools must start with hutch (the reference of the ratios)" >&2; exit 2; }
n=${#names[@]}

now() { echo "$EPOCHREALTIME"; }
phases=(cold warm edit)
declare -A secs miss failed
# One tool's three builds in a fresh store; records secs[i,phase,round].
measure() {
	local i=$1 r=$2 f=${funcs[$1]} dir=$work/run-$2-$1 ctx t0 t1 ph want got
	mkdir -p "$dir"
	ctx=$dir/ctx
	cp -r "$flask" "$ctx"
	for ph in "${phases[@]}"; do
		if [ "$ph" = edit ]; then
			want="# bench edit: round $r, ${names[$i]}"
			echo "$want" >>"$ctx/app.py"
		fi
		sync
		t0=$(now)
		if ! "build_$f" "$i" "$dir" "$ctx" "$dir/$ph.log"; then
			failed[$i]="$ph build failed: $(grep -v '^\s*$' "$dir/$ph.log" | tail -n 3 | tr '\n' ' ')"
			cp "$dir/$ph.log" "$work/${names[$i]%% *}-$ph-failed.log"
			return 1
		fi
		t1=$(now)
		secs[$i,$ph,$r]=$(awk "BEGIN { print $t1 - $t0 }")
		# apt-get ran (its "Setting up" lines) in the cold build only.
		if [ "$ph" = cold ]; then
			grep -q 'Setting up python3-flask' "$dir/$ph.log" ||
				miss[$i,$ph]="cold build's log shows no apt-get install"
		elif grep -q 'Setting up python3-flask' "$dir/$ph.log"; then
			miss[$i,$ph]=MISS
		fi
	done
	got=$("check_$f" "$i" "$dir" 2>&1) || got="(could not read: $got)"
	[ "$got" = "$want" ] || miss[$i,edit]="image's app.py ends with '$got', not the edit"
	podman_pause_stop "$dir"
	wipe "$dir"
}

echo "base: $BASE (Debian bookworm minbase, $base_mb MB tar, pushed by hutch; https, self-signed)"
for note in "${notes[@]}"; do echo "  $note"; done
for r in $(seq "$rounds"); do
	for k in $(seq 0 $((n - 1))); do
		i=$(((k + r) % n))
		[ -n "${failed[$i]:-}" ] && continue
		echo "round $r: ${names[$i]}..." >&2
		measure "$i" "$r" || echo "build.sh: ${names[$i]}: ${failed[$i]}" >&2
	done
done
[ -z "${failed[0]:-}" ] || { echo "build.sh: hutch failed: ${failed[0]}" >&2; exit 1; }

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo
echo "Flask example build ($(uname -r), $(nproc) cpus, $(df -PT "$work" | awk 'NR == 2 { print $2 }') under $work, user $(id -un)): $rounds rounds"
echo "cold: empty store, base pulled from the local registry, apt-get from the Debian mirror; warm: nothing changed; edit: app.py changed"
printf '%-10s' tool
for ph in "${phases[@]}"; do printf ' %9s %9s' "$ph s" "vs hutch"; done
echo
for i in $(seq 0 $((n - 1))); do
	printf '%-10s' "${names[$i]}"
	if [ -n "${failed[$i]:-}" ]; then
		echo " failed: ${failed[$i]}"
		continue
	fi
	for ph in "${phases[@]}"; do
		med=$(for r in $(seq "$rounds"); do echo "${secs[$i,$ph,$r]}"; done | median)
		ratio=$(for r in $(seq "$rounds"); do awk "BEGIN { print ${secs[$i,$ph,$r]} / ${secs[0,$ph,$r]} }"; done | median)
		printf ' %9.2f %8.2fx' "$med" "$ratio"
	done
	echo
done
bad=0
for i in $(seq 0 $((n - 1))); do
	for ph in "${phases[@]}"; do
		if [ -n "${miss[$i,$ph]:-}" ]; then
			echo "${names[$i]} $ph: ${miss[$i,$ph]}"
			bad=1
		fi
	done
done
[ "$bad" = 0 ] && echo "checked: apt-get ran in every cold build and in no warm or edit build; every edit reached the image's /app/app.py"
exit 0
