#!/usr/bin/env bats
# addurl.bats - ADD <URL>: downloads from real local HTTP(S) servers; file
# names, modes, no unpacking, --checksum, errors, proxies and the cache

load ../lib/common

# start_server NAME CMD...: run a server that prints its port ("port N"
# or python's "Serving HTTP on ... port N"), log in $BATS_FILE_TMPDIR or
# $BATS_TEST_TMPDIR (first argument's directory), pid in NAME.pid.
start_server() {
	local base=$1
	shift
	"$@" >"$base.log" 2>&1 3>&- &
	echo $! >"$base.pid"
	wait_for 20 grep -qE '(^port |Serving HTTP on .* port )[0-9]+' "$base.log" ||
		{ cat "$base.log" >&2; return 1; }
	sed -nE 's/^(port |Serving HTTP on .* port )([0-9]+).*/\2/p' "$base.log" | head -n 1
}

# gone PID: the process has exited (a zombie counts).
gone() {
	! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# stop_server NAME: by its PID, then wait until it is gone.
stop_server() {
	local pid
	[ -s "$1.pid" ] || return 0
	pid=$(cat "$1.pid")
	kill "$pid" 2>/dev/null || true
	wait_for 20 gone "$pid" || kill -9 "$pid" 2>/dev/null || true
	rm -f "$1.pid"
}

setup_file() {
	make_rootfs "$BATS_FILE_TMPDIR/rootfs"
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store" HUTCH_RUNTIME="$BATS_FILE_TMPDIR/runtime"
	"$HUTCH" import "$BATS_FILE_TMPDIR/rootfs" base:1 >/dev/null
	mkdir -p "$BATS_FILE_TMPDIR/www"
	start_server "$BATS_FILE_TMPDIR/http" python3 -u -m http.server 0 \
		--bind 127.0.0.1 --directory "$BATS_FILE_TMPDIR/www" >"$BATS_FILE_TMPDIR/http.port"
}

teardown_file() {
	stop_server "$BATS_FILE_TMPDIR/http"
	remove_store "$BATS_FILE_TMPDIR/store"
}

setup() {
	export HUTCH_ROOT="$BATS_FILE_TMPDIR/store" HUTCH_RUNTIME="$BATS_FILE_TMPDIR/runtime"
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
	C=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$C"
	W=$BATS_FILE_TMPDIR/www
	PORT=$(cat "$BATS_FILE_TMPDIR/http.port")
	URL=http://127.0.0.1:$PORT
	LOG=$BATS_FILE_TMPDIR/http.log
}

teardown() {
	local p
	for p in "$BATS_TEST_TMPDIR"/*.pid; do
		[ -e "$p" ] && stop_server "${p%.pid}"
	done
	return 0
}

# gets PATH: how many GETs of PATH the server has answered.
gets() {
	grep -c "\"GET $1 HTTP/1.1\"" "$LOG" || true
}

# failed: the build failed with one error line, its last, which carries
# everything (in $ERR).
failed() {
	[ "$status" -ne 0 ] || return 1
	ERR=${lines[-1]}
	[[ $ERR == "hutch: STEP "* ]] || return 1
	[ "$(grep -c '^hutch: ' <<<"$output")" -eq 1 ]
}

@test "ADD URL: to a file path, into a directory named by the URL, 0600 unless --chmod, mtime from Last-Modified" {
	echo hello >"$W/hello.txt"
	touch -d '2001-02-03 04:05:06 UTC' "$W/hello.txt"
	echo spaced >"$W/a b.txt"
	want_mtime=$(date -d '2001-02-03 04:05:06 UTC' +%s)
	cat >"$C/Dockerfile" <<DF
FROM base:1
ADD $URL/hello.txt /opt/renamed.txt
ADD $URL/hello.txt?token=x#frag /srv/
ADD $URL/a%20b.txt /srv/
ADD --chmod=751 $URL/hello.txt /usr/local/bin/hello
ADD --chown=alice $URL/hello.txt /home/alice/
DF
	run "$HUTCH" build -t url:1 "$C"
	[ "$status" -eq 0 ]
	run "$HUTCH" run --rm url:1 stat -c '%a %s %Y %n' /opt/renamed.txt /srv/hello.txt "/srv/a b.txt" /usr/local/bin/hello
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "600 6 $want_mtime /opt/renamed.txt" ]
	[ "${lines[1]}" = "600 6 $want_mtime /srv/hello.txt" ]
	[ "${lines[2]}" = "600 7 $(stat -c %Y "$W/a b.txt") /srv/a b.txt" ]
	[ "${lines[3]}" = "751 6 $want_mtime /usr/local/bin/hello" ]
	run "$HUTCH" run --rm url:1 cat /opt/renamed.txt /srv/hello.txt "/srv/a b.txt"
	[ "$output" = "$(printf 'hello\nhello\nspaced')" ]
	# Without subordinate ids alice does not exist outside: root owns it.
	want_uid=0
	subids_available && want_uid=1000
	run "$HUTCH" run --rm url:1 stat -c '%u %a' /home/alice/hello.txt
	[ "$output" = "$want_uid 600" ]
	# The query and fragment are not part of the name; no stray files.
	run "$HUTCH" run --rm url:1 ls /srv
	[ "$output" = "$(printf 'a b.txt\nhello.txt')" ]
}

@test "ADD URL of a .tar.gz keeps the archive as it is; --unpack=true unpacks it" {
	mkdir -p "$BATS_TEST_TMPDIR/t"
	echo inner >"$BATS_TEST_TMPDIR/t/inner.txt"
	# Owned by root: without subordinate ids no other owner can be unpacked.
	tar -C "$BATS_TEST_TMPDIR/t" --owner=0 --group=0 -czf "$W/pack.tar.gz" inner.txt
	sum=$(sha256sum "$W/pack.tar.gz" | cut -d' ' -f1)
	printf 'FROM base:1\nADD %s/pack.tar.gz /x/\nADD --unpack=true %s/pack.tar.gz /y/\n' "$URL" "$URL" >"$C/Dockerfile"
	run "$HUTCH" build -t tgz:1 "$C"
	[ "$status" -eq 0 ]
	run "$HUTCH" run --rm tgz:1 ls /x
	[ "$output" = pack.tar.gz ]
	run "$HUTCH" run --rm tgz:1 sha256sum /x/pack.tar.gz
	[ "$output" = "$sum  /x/pack.tar.gz" ]
	run "$HUTCH" run --rm tgz:1 cat /y/inner.txt
	[ "$output" = inner ]
}

@test "ADD --checksum: a match builds; a mismatch fails in one line with the URL and both digests, and tags nothing" {
	echo pinned-good >"$W/sum.txt"
	good=sha256:$(sha256sum "$W/sum.txt" | cut -d' ' -f1)
	bad=sha256:$(printf '0%.0s' {1..64})
	printf 'FROM base:1\nADD --checksum=%s %s/sum.txt /sum.txt\n' "$good" "$URL" >"$C/Dockerfile"
	run "$HUTCH" build -t sum:good "$C"
	[ "$status" -eq 0 ]
	run "$HUTCH" run --rm sum:good cat /sum.txt
	[ "$output" = pinned-good ]
	printf 'FROM base:1\nADD --checksum=%s %s/sum.txt /sum.txt\n' "$bad" "$URL" >"$C/Dockerfile"
	run "$HUTCH" build -t sum:bad "$C"
	failed
	[[ $ERR == *"checksum mismatch for $URL/sum.txt: expected $bad, got $good"* ]]
	[ "$(grep -c 'checksum mismatch' <<<"$output")" -eq 1 ]
	run "$HUTCH" inspect sum:bad
	[ "$status" -ne 0 ]
	# Malformed checksums and misplaced ones are refused before any download.
	n=$(gets /sum.txt)
	printf 'FROM base:1\nADD --checksum=md5:abc %s/sum.txt /sum.txt\n' "$URL" >"$C/Dockerfile"
	run "$HUTCH" build "$C"
	failed
	[[ $ERR == *"invalid --checksum=md5:abc: give sha256:"* ]]
	echo local >"$C/local.txt"
	printf 'FROM base:1\nADD --checksum=%s local.txt /l\n' "$good" >"$C/Dockerfile"
	run "$HUTCH" build "$C"
	failed
	[[ $ERR == *"--checksum applies to one http(s) source"* ]]
	[ "$(gets /sum.txt)" -eq "$n" ]
}

@test "ADD URL errors name the URL and the cause in one line: 404, connection refused, stall, size limit, no file name" {
	printf 'FROM base:1\nADD %s/missing.txt /m\n' "$URL" >"$C/Dockerfile"
	run "$HUTCH" build -t err:1 "$C"
	failed
	[[ $ERR == *"cannot download $URL/missing.txt: the server answered HTTP 404; check the URL" ]]
	run "$HUTCH" inspect err:1
	[ "$status" -ne 0 ]

	closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	printf 'FROM base:1\nADD http://127.0.0.1:%s/x.txt /x\n' "$closed" >"$C/Dockerfile"
	run "$HUTCH" build "$C"
	failed
	[[ $ERR == *"cannot download http://127.0.0.1:$closed/x.txt: "*"(Connection refused); check the URL"* ]]

	# A server that accepts and never answers: the stall limit ends it.
	stall=$(start_server "$BATS_TEST_TMPDIR/stall" python3 -c '
import signal, socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print("port", s.getsockname()[1], flush=True)
signal.pause()')
	printf 'FROM base:1\nADD http://127.0.0.1:%s/slow.txt /x\n' "$stall" >"$C/Dockerfile"
	HUTCH_ADD_STALL_SECONDS=1 run "$HUTCH" build "$C"
	failed
	[[ $ERR == *"cannot download http://127.0.0.1:$stall/slow.txt: Operation too slow"*"HUTCH_ADD_STALL_SECONDS" ]]

	head -c 5000 /dev/zero >"$W/big.bin"
	printf 'FROM base:1\nADD %s/big.bin /big\n' "$URL" >"$C/Dockerfile"
	HUTCH_ADD_MAX_BYTES=4096 run "$HUTCH" build "$C"
	failed
	[[ $ERR == *"cannot download $URL/big.bin: larger than the limit of 4096 bytes; raise HUTCH_ADD_MAX_BYTES" ]]

	printf 'FROM base:1\nADD %s/ /d/\n' "$URL" >"$C/Dockerfile"
	run "$HUTCH" build "$C"
	failed
	[[ $ERR == *"cannot derive a file name from the URL $URL/ "*"give the destination a file name"* ]]
}

@test "ADD URL over https: a certificate not trusted fails in one line; trusted through SSL_CERT_FILE it downloads" {
	command -v openssl >/dev/null || skip "openssl is not installed (tests/build/deps)"
	T=$BATS_TEST_TMPDIR
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
		-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
	echo secure >"$W/tls.txt"
	tport=$(start_server "$T/https" python3 -c '
import http.server, ssl, sys
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=sys.argv[1], **k)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print("port", srv.server_address[1], flush=True)
srv.serve_forever()' "$W" "$T/cert.pem" "$T/key.pem")
	printf 'FROM base:1\nADD https://127.0.0.1:%s/tls.txt /tls.txt\n' "$tport" >"$C/Dockerfile"
	run "$HUTCH" build -t tls:1 "$C"
	failed
	[[ $ERR == *"cannot download https://127.0.0.1:$tport/tls.txt: "*"certificate"*"SSL_CERT_FILE"* ]]
	SSL_CERT_FILE=$T/cert.pem run "$HUTCH" build -t tls:1 "$C"
	[ "$status" -eq 0 ]
	run "$HUTCH" run --rm tls:1 cat /tls.txt
	[ "$output" = secure ]
}

@test "ADD URL follows redirects, takes several URLs and local files at once, and uses http_proxy but never for loopback" {
	mkdir -p "$W/redir" "$W/http:/example.invalid"
	echo redirected >"$W/redir/index.html"
	echo one >"$W/m1.txt"
	echo two >"$W/m2.txt"
	echo three >"$C/m3.txt"
	echo via-proxy >"$W/http:/example.invalid/proxied.txt"
	# python's http.server answers /redir with a 301 to /redir/.
	printf 'FROM base:1\nADD %s/redir /r.html\nADD %s/m1.txt %s/m2.txt m3.txt /multi/\n' "$URL" "$URL" "$URL" >"$C/Dockerfile"
	# A dead proxy: loopback URLs must not go through it.
	http_proxy=http://127.0.0.1:9 run "$HUTCH" build -t many:1 "$C"
	[ "$status" -eq 0 ]
	grep -q '"GET /redir HTTP/1.1" 301' "$LOG"
	run "$HUTCH" run --rm many:1 cat /r.html /multi/m1.txt /multi/m2.txt /multi/m3.txt
	[ "$output" = "$(printf 'redirected\none\ntwo\nthree')" ]
	# Another host goes through the proxy (our server serves the proxy's
	# absolute-URI request from its http:/example.invalid folder).
	printf 'FROM base:1\nADD http://example.invalid/proxied.txt /p.txt\n' >"$C/Dockerfile"
	http_proxy=$URL run "$HUTCH" build -t proxied:1 "$C"
	[ "$status" -eq 0 ]
	grep -q '"GET http://example.invalid/proxied.txt HTTP/1.1" 200' "$LOG"
	run "$HUTCH" run --rm proxied:1 cat /p.txt
	[ "$output" = via-proxy ]
	# no_proxy sends it direct, where the name does not resolve.
	HTTP_PROXY=$URL NO_PROXY=example.invalid run "$HUTCH" build "$C"
	failed
	[[ $ERR == *"cannot download http://example.invalid/proxied.txt: "*"resolve"* ]]
}

@test "cache: --checksum hits without contacting the server; without it, a download each build, CACHED while the content stays" {
	echo v1 >"$W/pin.txt"
	sum=sha256:$(sha256sum "$W/pin.txt" | cut -d' ' -f1)
	printf 'FROM base:1\nADD --checksum=%s %s/pin.txt /pin.txt\n' "$sum" "$URL" >"$C/Dockerfile"
	run "$HUTCH" build -t pin:1 "$C"
	[ "$status" -eq 0 ]
	[[ $output != *CACHED* ]]
	[ "$(gets /pin.txt)" -eq 1 ]
	run "$HUTCH" build -t pin:1 "$C"
	[ "$status" -eq 0 ]
	[ "$(grep -c CACHED <<<"$output")" -eq 1 ]
	[ "$(gets /pin.txt)" -eq 1 ]
	# --no-cache downloads (and verifies) again.
	run "$HUTCH" build --no-cache -t pin:1 "$C"
	[ "$status" -eq 0 ]
	[ "$(gets /pin.txt)" -eq 2 ]

	echo v1 >"$W/float.txt"
	printf 'FROM base:1\nADD %s/float.txt /float.txt\n' "$URL" >"$C/Dockerfile"
	run "$HUTCH" build -t float:1 "$C"
	[ "$status" -eq 0 ]
	[[ $output != *CACHED* ]]
	layers1=$("$HUTCH" inspect -f '{{json .RootFS.diff_ids}}' float:1)
	run "$HUTCH" build -t float:1 "$C"
	[ "$status" -eq 0 ]
	[ "$(grep -c CACHED <<<"$output")" -eq 1 ]
	[ "$("$HUTCH" inspect -f '{{json .RootFS.diff_ids}}' float:1)" = "$layers1" ]
	[ "$(gets /float.txt)" -eq 2 ]
	echo v2 >"$W/float.txt"
	run "$HUTCH" build -t float:1 "$C"
	[ "$status" -eq 0 ]
	[[ $output != *CACHED* ]]
	[ "$("$HUTCH" inspect -f '{{json .RootFS.diff_ids}}' float:1)" != "$layers1" ]
	[ "$(gets /float.txt)" -eq 3 ]
	run "$HUTCH" run --rm float:1 cat /float.txt
	[ "$output" = v2 ]
}

@test "ADD refuses what it cannot fetch, and COPY refuses URLs, before any download" {
	n=$(wc -l <"$LOG")
	printf 'FROM base:1\nCOPY %s/hello.txt /x\n' "$URL" >"$C/Dockerfile"
	run "$HUTCH" build "$C"
	failed
	[[ $ERR == *"COPY cannot fetch a URL ($URL/hello.txt); use ADD" ]]
	printf 'FROM base:1\nADD ftp://127.0.0.1/x /x\n' >"$C/Dockerfile"
	run "$HUTCH" build "$C"
	failed
	[[ $ERR == *"ADD of ftp://127.0.0.1/x: only http:// and https:// URLs are supported"* ]]
	printf 'FROM base:1\nADD %s/repo.git#main /src\n' "$URL" >"$C/Dockerfile"
	run "$HUTCH" build "$C"
	failed
	[[ $ERR == *"ADD of a git repository ($URL/repo.git#main) is not supported yet"* ]]
	[ "$(wc -l <"$LOG")" -eq "$n" ]
}
