# tests/lib/ports.bash - free_port, for the bats suites (through
# common.bash) and for scripts that start services (tests/slurm/cluster.sh).

# free_port: a TCP port in 20000-59999 that nothing listens on now.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		[ -z "$(ss -Htan "( sport = :$p )")" ] && { echo "$p"; return; }
	done
}
