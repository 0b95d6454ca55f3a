#!/usr/bin/env bats
# tty.bats - -t and -it: a real terminal, its size, job control, ^C, and
# the user's terminal restored afterwards

load ../lib/common

setup_file() {
	make_rootfs "$(shared_rootfs)"
}

setup() {
	hutch_test_env
	R=$(shared_rootfs)
	TMUX_SOCK="hutch-tty-$$-$RANDOM"
}

teardown() {
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
}

@test "-t gives the command a terminal from the container's devpts" {
	run script -qec "'$HUTCH' run -t --rootfs '$R' -- sh -c 'tty; stty size; echo \$TERM; test -t 0 && echo stdin-tty'" /dev/null
	[ "$status" -eq 0 ]
	[[ $output == *"/dev/pts/0"* ]]
	[[ $output == *"xterm"* ]]
	[[ $output == *"stdin-tty"* ]]
}

@test "-t passes the exit status through" {
	run script -qec "'$HUTCH' run -t --rootfs '$R' -- sh -c 'exit 9'" /dev/null
	# script(1) from util-linux returns the child's status with -e.
	[ "$status" -eq 9 ]
}

# pane_has TEXT: the tmux pane shows TEXT.
pane_has() {
	tmux -L "$TMUX_SOCK" capture-pane -p -t t | grep -qF -- "$1"
}

send() {
	tmux -L "$TMUX_SOCK" send-keys -t t "$@"
}

@test "-it: size, resize, ^C, job control, exit status, terminal restored" {
	local out=$BATS_TEST_TMPDIR/result
	tmux -L "$TMUX_SOCK" new-session -d -s t -x 100 -y 30 \
		"stty -g >$out.before; '$HUTCH' run -it --rootfs '$R' -- sh; echo EXIT=\$? >$out; stty -g >$out.after; sleep 600"
	wait_for 20 pane_has '#'
	send 'stty size' Enter
	wait_for 10 pane_has '30 100'
	tmux -L "$TMUX_SOCK" resize-window -t t -x 120 -y 40
	send 'clear; stty size' Enter
	wait_for 10 pane_has '40 120'
	send 'clear; sleep 1000' Enter
	wait_for 10 bash -c "pgrep -u $(id -u) -f 'sleep 100[0]' >/dev/null"
	send C-c
	send 'echo status=$?' Enter
	wait_for 10 pane_has 'status=130'
	send 'sleep 999 &' Enter
	send 'jobs' Enter
	wait_for 10 pane_has 'sleep 999'
	send 'kill %1; exit 5' Enter
	wait_for 20 test -s "$out"
	[ "$(cat "$out")" = EXIT=5 ]
	[ "$(cat "$out.before")" = "$(cat "$out.after")" ]
}
