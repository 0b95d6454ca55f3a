#!/bin/sh
# story.sh - the user's day in short, run inside a test tree by
# tests/packaging (busybox sh: the tree's own tools may lack libraries):
# pull IMAGE, build CONTEXT on it (its Dockerfile says FROM @BASE@), run the
# image -d -p PORT:8080, get WANT over HTTP from the published port, rm;
# then no container is left.
#
# usage: busybox sh story.sh HUTCH IMAGE CONTEXT PORT WANT
set -eu
hutch=$1 img=$2 ctx=$3 port=$4 want=$5
name=pkgtest
trap '"$hutch" rm -f "$name" >/dev/null 2>&1 || :' EXIT
"$hutch" pull -q "$img"
busybox sed -i "s|@BASE@|$img|" "$ctx/Dockerfile"
"$hutch" build -t pkgtest:1 "$ctx"
"$hutch" run -d -p "127.0.0.1:$port:8080" --name "$name" pkgtest:1
"$hutch" ps
i=0
until body=$(printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' |
	busybox nc -w 5 127.0.0.1 "$port" 2>/dev/null) &&
	case $body in *"$want"*) true ;; *) false ;; esac; do
	i=$((i + 1))
	if [ "$i" -ge 150 ]; then
		echo "story: no answer with '$want' on port $port; the container's log:"
		"$hutch" logs "$name"
		exit 1
	fi
	busybox sleep 0.2
done
echo "story: answered: $want"
"$hutch" rm -f "$name"
trap - EXIT
left=$("$hutch" ps -aq)
[ -z "$left" ] || { echo "story: containers left: $left"; exit 1; }
echo "story: OK"
