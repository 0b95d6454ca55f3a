#!/usr/bin/env bash
# examples/demo.sh - the README's main job: the Flask example end to end.
#
#   hutch build -t simpleflask examples/flask
#   hutch run -d -p 5000:5000 -v $PWD/data:/data --name simpleflask simpleflask
#   hutch ps -a; curl localhost:5000/square/7   # -> 49
#   hutch logs simpleflask; hutch stop simpleflask; hutch rm simpleflask
#
# The base image: $HUTCH_DEMO_BASE if set (pulled: a local registry in the
# tests), else debian:bookworm-slim from Docker Hub when it is reachable,
# else a Debian base made here with mmdebstrap and `hutch import`ed
# ($HUTCH_DEMO_BASE_TAR if it already exists). Run as root, the container
# work runs as the unprivileged user hutch-demo: rootless is the point.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
HUTCH=${HUTCH:-$here/out/hutch}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/hutch-demo

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

# The devices a rootless container needs from the host: /dev/net/tun for
# its private network (-p) and /dev/fuse for hutch-overlay. Distributions
# ship both usable by everyone (udev's rules, mode 0666); machines without
# udev (VMs, containers, minimal installs) leave them 0600 root, and then
# `run -p` fails for every user. usable_by USER DEV: can USER open DEV?
usable_by() {
	if [ "$(id -u)" = 0 ] && [ "$1" != root ]; then
		runuser -u "$1" -- test -r "$2" -a -w "$2"
	else
		[ -r "$2" ] && [ -w "$2" ]
	fi
}

# devices_for USER: make the two devices usable by USER as a distribution
# would, saying so; as root directly, else through password-less sudo, else
# print the commands to run and stop.
devices_for() {
	local user=$1 dev mod fix=()
	for dev in /dev/net/tun /dev/fuse; do
		mod=$([ "$dev" = /dev/fuse ] && echo fuse || echo tun)
		if [ ! -c "$dev" ]; then
			fix+=("modprobe $mod")
		elif ! usable_by "$user" "$dev"; then
			fix+=("chmod 0666 $dev")
		fi
	done
	((${#fix[@]})) || return 0
	local sudo=
	if [ "$(id -u)" != 0 ]; then
		if sudo -n true 2>/dev/null; then
			sudo="sudo -n"
		else
			echo "demo: $user cannot use /dev/net/tun or /dev/fuse (no udev rule on this machine makes them 0666 as distributions ship them); as root, run:" >&2
			printf '  %s\n' "${fix[@]}" >&2
			echo "then run make demo again" >&2
			exit 2
		fi
	fi
	local f
	for f in "${fix[@]}"; do
		echo "demo: $f (rootless containers need it usable by every user, as distributions ship it; this machine has no udev rule for it)"
		# shellcheck disable=SC2086
		$sudo $f || { echo "demo: '$f' failed: see above" >&2; exit 2; }
	done
}

# As root: the base tarball (root can make it fastest), then the rest as
# hutch-demo from a copy it can read.
if [ "$(id -u)" = 0 ] && [ -z "${HUTCH_DEMO_INNER:-}" ]; then
	id hutch-demo >/dev/null 2>&1 || useradd -m -s /bin/bash hutch-demo
	devices_for hutch-demo
	work=$(mktemp -d /tmp/hutch-demo.XXXXXX)
	chmod 0755 "$work"
	tar=${HUTCH_DEMO_BASE_TAR:-/var/cache/hutch-demo/debian-bookworm.tar}
	if [ -z "${HUTCH_DEMO_BASE:-}" ] && [ ! -s "$tar" ] &&
		! timeout 10 bash -c 'exec 3<>/dev/tcp/registry-1.docker.io/443' 2>/dev/null; then
		echo "demo: Docker Hub is out of reach: building a Debian base with mmdebstrap (a few minutes, once)"
		mkdir -p "$(dirname "$tar")"
		"$here/examples/debian-base.sh" "$tar"
	fi
	mkdir -p "$work/hutch" "$work/examples"
	# hutch and its two helpers, found next to it.
	cp "$HUTCH" "$(dirname "$HUTCH")/hutch-net" "$(dirname "$HUTCH")/hutch-overlay" "$work/hutch/"
	cp -r "$here/examples/flask" "$here/examples/demo.sh" "$here/examples/debian-base.sh" "$work/examples/"
	[ -s "$tar" ] && cp "$tar" "$work/base.tar"
	chown -R hutch-demo "$work"
	echo "demo: running as the unprivileged user hutch-demo in $work"
	exec runuser -u hutch-demo -- env HUTCH_DEMO_INNER=1 HUTCH="$work/hutch/hutch" \
		HUTCH_DEMO_BASE="${HUTCH_DEMO_BASE:-}" HUTCH_DEMO_BASE_TAR="$work/base.tar" \
		HOME="$(getent passwd hutch-demo | cut -d: -f6)" PATH="$PATH" TERM="${TERM:-dumb}" \
		bash "$work/examples/demo.sh"
fi

[ -n "${HUTCH_DEMO_INNER:-}" ] || devices_for "$(id -un)"

flask=$here/examples/flask
[ -d "$flask" ] || flask=$(dirname "$0")/flask
work=$(mktemp -d)
mkdir -p "$work/data"

# http_get PORT PATH: the body, with bash alone (no curl needed).
http_get() {
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$2" >&3
	sed '1,/^\r*$/d' <&3
	exec 3<&-
}

say "1. This machine"
"$HUTCH" info | grep -E '^(user namespaces|id mapping|rootless)' || true

say "2. The base image"
base=${HUTCH_DEMO_BASE:-}
if [ -z "$base" ] && "$HUTCH" pull -q debian:bookworm-slim >/dev/null 2>&1; then
	base=debian:bookworm-slim
fi
if [ -z "$base" ]; then
	tar=${HUTCH_DEMO_BASE_TAR:-$cache/debian-bookworm.tar}
	if [ ! -s "$tar" ]; then
		echo "Docker Hub is out of reach: building a Debian base with mmdebstrap (a few minutes, once)"
		mkdir -p "$(dirname "$tar")"
		"$here/examples/debian-base.sh" "$tar"
	fi
	show "$HUTCH" import "$tar" localhost/debian:bookworm-slim
	base=localhost/debian:bookworm-slim
elif [ "$base" != debian:bookworm-slim ]; then
	show "$HUTCH" pull "$base"
fi

say "3. Build (no root, no daemon)"
show "$HUTCH" build -t simpleflask --build-arg "BASE=$base" "$flask"

say "4. Run it detached, port 5000 published on 127.0.0.1, data bind-mounted"
port=5000
if (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null; then
	port=$((20000 + RANDOM % 20000))
	echo "(port 5000 is taken on this machine: using $port)"
fi
"$HUTCH" rm -f simpleflask >/dev/null 2>&1 || true
show "$HUTCH" run -d -p "$port:5000" -v "$work/data:/data" --name simpleflask simpleflask
show "$HUTCH" ps -a

say "5. Ask it: square of 7"
answer=
for _ in $(seq 200); do
	answer=$(http_get "$port" /square/7 2>/dev/null) && [ -n "$answer" ] && break
	sleep 0.1
done
echo "\$ curl localhost:$port/square/7"
echo "$answer"
echo "request log the container wrote to the host's data folder (owned by $(stat -c %U "$work/data/requests.log" 2>/dev/null || echo nobody)):"
cat "$work/data/requests.log" 2>/dev/null || true

say "6. Logs, stop, remove"
show "$HUTCH" logs simpleflask
show "$HUTCH" stop simpleflask
show "$HUTCH" rm simpleflask
show "$HUTCH" ps -a

say "Result"
if [ "$answer" = 49 ]; then
	echo "demo: OK - built without root, served square(7) = 49 on 127.0.0.1:$port, stopped and removed"
else
	echo "demo: FAILED - the service answered '$answer'"
	exit 1
fi
