#!/usr/bin/env bats
# user.bats - builds and images whose USER is not root, in both mappings:
# RUN after USER, WORKDIR after USER (owned by that user, as BuildKit makes
# it), and a Jupyter-style image on Debian served on a published port with
# its work directory bind-mounted.

load ../lib/common

# Each test has its own store, with the busybox base as base:1.
setup() {
	hutch_test_env
	C=$BATS_TEST_TMPDIR/ctx
	DATA=$BATS_TEST_TMPDIR/data
	mkdir -p "$C" "$DATA"
	make_rootfs "$BATS_TEST_TMPDIR/rootfs"
	"$HUTCH" import "$BATS_TEST_TMPDIR/rootfs" base:1 >/dev/null
}

teardown() {
	"$HUTCH" rm -f jup >/dev/null 2>&1 || true
	remove_store "$HUTCH_ROOT"
}

sub_start() {
	grep -E "^($(id -un)|$(id -u)):" /etc/subuid | head -n 1 | cut -d: -f2
}

# The host uid that container uid 1000 writes files as.
uid_of_1000() {
	if subids_available; then echo $(($(sub_start) + 999)); else id -u; fi
}

@test "RUN after USER runs as that user, and so does the image, in both mappings" {
	cat >"$C/Dockerfile" <<'DF'
FROM base:1
RUN chown alice:alice /home/alice
USER alice
RUN id -un >/home/alice/who && touch /home/alice/f && chown alice /home/alice/f
USER 2000
RUN id -u >/tmp/n
USER alice
CMD ["sh", "-c", "id -un; cat /home/alice/who /tmp/n; touch /data/out"]
DF
	run "$HUTCH" build -t user:1 "$C"
	echo "$output"
	[ "$status" -eq 0 ]
	chmod 0777 "$DATA"
	run "$HUTCH" run --rm -v "$DATA:/data" user:1
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'alice\nalice\n2000')" ]
	# Without subordinate ids alice is the caller: the file is theirs.
	[ "$(stat -c %u "$DATA/out")" = "$(uid_of_1000)" ]
}

@test "WORKDIR after USER makes the missing directories that user's, as BuildKit; existing ones stay" {
	cat >"$C/Dockerfile" <<'DF'
FROM base:1
USER alice
WORKDIR /home/alice/w/deep
RUN touch x && stat -c %u /home/alice/w . x && id -u
WORKDIR /tmp
USER root
WORKDIR /srv/r
RUN stat -c '%u %a' /tmp /srv /srv/r /home/alice
DF
	run "$HUTCH" build -t wd:1 "$C"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -cx 1000 <<<"$output")" -eq 4 ]
	[[ $output == *"$(printf '0 1777\n0 755\n0 755\n0 755')"* ]]
	# In the image: alice's in a full mapping, where owners are kept;
	# a single mapping has one id, root's, which alice is at run time.
	run "$HUTCH" run --rm wd:1 stat -c %u /home/alice/w /home/alice/w/deep
	if subids_available; then
		[ "$output" = "$(printf '1000\n1000')" ]
	else
		[ "$output" = "$(printf '0\n0')" ]
	fi
	run "$HUTCH" run --rm -u alice wd:1 sh -c 'cd /home/alice/w && touch y && stat -c %U . y'
	[ "$output" = "$(printf 'alice\nalice')" ]
	# A rebuild is all cache, WORKDIR steps included.
	run "$HUTCH" build -t wd:1 "$C"
	[ "$(grep -c CACHED <<<"$output")" -eq 5 ]
	# BuildKit refuses a directory for a user the image does not have.
	printf 'FROM base:1\nUSER nobody2\nWORKDIR /new\n' >"$C/Dockerfile"
	run "$HUTCH" build "$C"
	[ "$status" -ne 0 ]
	[[ $output == *"STEP 3/3: WORKDIR /new"*"unable to find user nobody2"* ]]
}

# The Jupyter image of issue 16 with a stand-in for the notebook server
# (minbase has perl, not python3): useradd, USER, WORKDIR, a server on a
# published port, its work directory bind-mounted.
@test "a Jupyter-style image: built, served on a published port as jovyan, its files the caller's" {
	local tar=${HUTCH_TEST_DEBIAN_TAR:-/var/cache/hutch-demo/debian-bookworm.tar} port body
	[ -r "$tar" ] || skip "no Debian base tarball $tar (examples/debian-base.sh makes one)"
	"$HUTCH" import "$tar" debian:bookworm >/dev/null
	cat >"$C/serve.pl" <<'PL'
use strict;
use warnings;
use Cwd qw(getcwd);
use IO::Socket::INET;

my $srv = IO::Socket::INET->new(LocalAddr => '0.0.0.0', LocalPort => 8888,
	Listen => 5, ReuseAddr => 1) or die "listen: $!\n";
$| = 1;
print "listening on 8888\n";
while (my $c = $srv->accept) {
	while (my $l = <$c>) { last if $l =~ /^\r?$/; }
	my $user = getpwuid($<) // '?';
	open(my $f, '>', "made-by-$user") or die "cannot write: $!\n";
	close($f);
	my $body = sprintf("uid=%d user=%s cwd=%s\n", $<, $user, getcwd());
	print $c "HTTP/1.0 200 OK\r\nContent-Length: ", length($body),
	    "\r\n\r\n", $body;
	close($c);
}
PL
	cat >"$C/Dockerfile" <<'DF'
FROM debian:bookworm
RUN useradd -m -u 1000 jovyan
USER jovyan
WORKDIR /home/jovyan/work
COPY serve.pl /usr/local/bin/serve.pl
EXPOSE 8888
CMD ["perl", "/usr/local/bin/serve.pl"]
DF
	run "$HUTCH" build -t jupyter:1 "$C"
	echo "$output"
	[ "$status" -eq 0 ]
	# jovyan of a full mapping is a subordinate id: like Docker's 1000,
	# it may write to the host directory only if everyone may.
	subids_available && chmod 0777 "$DATA"
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	run "$HUTCH" run -d --name jup -p "127.0.0.1:$port:8888" -v "$DATA:/home/jovyan/work" jupyter:1
	[ "$status" -eq 0 ]
	wait_for 20 curl -sf -o "$BATS_TEST_TMPDIR/body" "http://127.0.0.1:$port/" || {
		"$HUTCH" logs jup
		false
	}
	[ "$(cat "$BATS_TEST_TMPDIR/body")" = "uid=1000 user=jovyan cwd=/home/jovyan/work" ]
	run "$HUTCH" exec jup sh -c 'id -u; whoami; echo $HOME'
	[ "$output" = "$(printf '1000\njovyan\n/home/jovyan')" ]
	[ "$(stat -c %u "$DATA/made-by-jovyan")" = "$(uid_of_1000)" ]
	run "$HUTCH" stop jup
	[ "$status" -eq 0 ]
}
