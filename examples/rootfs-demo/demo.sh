#!/usr/bin/env bash
# examples/rootfs-demo/demo.sh - rootless containers on a busybox directory:
#
# Until image pulls and builds land, the container's root filesystem is a
# directory made from busybox-static. The story is the one of DESIGN.md:
# check the machine, run a command, run a "training" script on a read-only
# data mount, then serve the square API (/square?7 -> 49) from the container
# and query it from the host, and stop it with a signal.
#
# Run as root, it runs everything as the unprivileged user hutch-demo:
# rootless is the point.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
HUTCH=${HUTCH:-$here/out/hutch}

if [ "$(id -u)" = 0 ] && [ -z "${HUTCH_DEMO_INNER:-}" ]; then
	id hutch-demo >/dev/null 2>&1 || useradd -m -s /bin/bash hutch-demo
	work=$(mktemp -d /tmp/hutch-demo.XXXXXX)
	install -m 0755 "$HUTCH" "$work/hutch"
	cp -r "$here/examples/rootfs-demo" "$work/"
	cp "$here/examples/rootfs-demo/demo.sh" "$work/demo.sh"
	chown -R hutch-demo "$work"
	chmod 0755 "$work"
	echo "demo: running as the unprivileged user hutch-demo in $work"
	exec runuser -u hutch-demo -- env HUTCH_DEMO_INNER=1 HUTCH="$work/hutch" \
		DEMO_DIR="$work" DEMO_SRC="$work/rootfs-demo" \
		HOME="$(getent passwd hutch-demo | cut -d: -f6)" PATH="$PATH" \
		bash "$work/demo.sh"
fi

work=${DEMO_DIR:-$(mktemp -d)}
cd "$work"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "1. Can this machine run rootless containers?"
"$HUTCH" info | sed -n '/^user namespaces\|^id mapping\|^rootless/p'

say "2. A root filesystem from busybox-static"
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,tmp,www/cgi-bin,data,work}
cp /bin/busybox "$rootfs/bin/"
for a in $("$rootfs/bin/busybox" --list); do [ -e "$rootfs/bin/$a" ] || ln -s busybox "$rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
cp "${DEMO_SRC:-$here/examples/rootfs-demo}/square.cgi" "$rootfs/www/cgi-bin/square"
echo "rootfs ready: $(du -sh "$rootfs" | cut -f1)"

say "3. A container: its own pid namespace, root inside, its own host name"
run "$HUTCH" run --rootfs "$rootfs" -- sh -c 'echo "pid $$, uid $(id -u), host $(hostname)"'

say "4. Training on a read-only data mount"
mkdir -p data code
printf 'id,value\n1,3\n2,5\n3,10\n' >data/samples.csv
cp "${DEMO_SRC:-$here/examples/rootfs-demo}/train.sh" code/
run "$HUTCH" run --rootfs "$rootfs" -v "$PWD/data:/data:ro" -v "$PWD/code:/code:ro" \
	-e MODE=train -w /data -- sh /code/train.sh

say "5. The square API, served from the container, queried from the host"
port=$(( (RANDOM % 20000) + 30000 ))
mkdir -p logs
"$HUTCH" run --rootfs "$rootfs" -v "$PWD/logs:/data" -- \
	httpd -f -p "127.0.0.1:$port" -h /www &
server=$!
answer=
for _ in $(seq 200); do
	answer=$(wget -qO- "http://127.0.0.1:$port/cgi-bin/square?7" 2>/dev/null ||
		busybox wget -qO- "http://127.0.0.1:$port/cgi-bin/square?7" 2>/dev/null) && break
	sleep 0.05
done
echo "\$ wget -qO- http://127.0.0.1:$port/cgi-bin/square?7"
echo "$answer"
echo "request log written by the container (owned by $(stat -c %U logs/requests.log)):"
cat logs/requests.log
kill -TERM "$server"
status=0
wait "$server" || status=$?
echo "server stopped by SIGTERM: exit status $status (128+15)"

say "Result"
if [ "$answer" = 49 ] && [ "$status" = 143 ]; then
	echo "demo: OK - square(7) = 49, served rootless, stopped cleanly"
else
	echo "demo: FAILED (answer '$answer', status $status)"
	exit 1
fi
