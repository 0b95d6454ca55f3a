# tests/bench/unpriv.bash - sourced by the FUSE benches (fuse-rtt.sh,
# fuse-ops.sh): run as an unprivileged user when started as root.
#
# bench_as_user SCRIPT [ARG...]: as root, runs SCRIPT again as hutch-sub
# (created by tests/run) or hutch-bench (created here), from a copy in /tmp
# that the user can read, with HUTCH_OVERLAY pointing at a copy of $OVL;
# exits with its status. Not root: returns at once.
bench_as_user() {
	[ "$(id -u)" = 0 ] || return 0
	local script=$1 user=hutch-sub copy st=0
	shift
	id "$user" >/dev/null 2>&1 || {
		user=hutch-bench
		id "$user" >/dev/null 2>&1 || useradd -m "$user"
	}
	copy=$(mktemp -d /tmp/hutch-bench.XXXXXX)
	cp "$OVL" "$script" "$(dirname "$script")/unpriv.bash" "$copy/"
	chown -R "$user" "$copy"
	chmod 0755 "$copy"
	runuser -u "$user" -- env HUTCH_OVERLAY="$copy/hutch-overlay" \
		bash "$copy/$(basename "$script")" "$@" || st=$?
	rm -rf "$copy"
	exit "$st"
}
