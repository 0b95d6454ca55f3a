#!/usr/bin/env bash
# tests/fuzz/run.sh - run each fuzz target for a bounded time; the last line
# is "N passed, N failed" (CI counts it as it counts tests/run's).
#
# usage: tests/fuzz/run.sh [--build DIR] [--seconds N] [TARGET...]
#
# DIR (default out-fuzz, relative to the repository root) holds the targets
# `make fuzz` built, DIR/tests/fuzz_NAME; TARGET is a NAME or fuzz_NAME
# (default: all). Each runs for N seconds (default 60) from its seeds in
# tests/fuzz/corpus/NAME/, with tests/fuzz/NAME.dict when there is one. A
# target that runs clean is one passed; a crash, a sanitizer report, a leak,
# a hang (one input over 30 s) or running out of memory is one failed, and
# the input that caused it is kept under DIR/fuzz-crashes/NAME/ and its path
# printed (and the input in base64 when it is small, for CI's log). Reproduce
# with: DIR/tests/fuzz_NAME THAT-FILE. The inputs the fuzzer adds go to
# DIR/fuzz-corpus/NAME/ (kept between runs; the seeds stay as they are).
#
# A finding could write where its user may, so as root (CI) the targets run
# as the user nobody, on a copy of what they need under /tmp (kept when a
# target failed, so that the printed paths stay valid).
set -u
shopt -s nullglob

here=$(cd "$(dirname "$0")/../.." && pwd)
build=out-fuzz
seconds=60
targets=()
while (($#)); do
	case $1 in
	--build) build=$2; shift 2 ;;
	--build=*) build=${1#--build=}; shift ;;
	--seconds) seconds=$2; shift 2 ;;
	--seconds=*) seconds=${1#--seconds=}; shift ;;
	-h|--help) sed -n '2,23p' "$0"; exit 0 ;;
	*) targets+=("fuzz_${1#fuzz_}"); shift ;;
	esac
done
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds == 0)); then
	echo "tests/fuzz/run.sh: --seconds wants a positive number, not '$seconds'" >&2
	exit 2
fi

bins=()
if ((${#targets[@]})); then
	for t in "${targets[@]}"; do bins+=("$here/$build/tests/$t"); done
else
	bins=("$here/$build"/tests/fuzz_*)
fi

# As root: the same run as nobody, on a copy nobody owns.
if [ "$(id -u)" = 0 ]; then
	copy=$(mktemp -d /tmp/hutch-fuzz.XXXXXX)
	mkdir -p "$copy/tests" "$copy/$build/tests"
	cp -r "$here/tests/fuzz" "$copy/tests/"
	for b in "${bins[@]}"; do
		[ -e "$b" ] && cp "$b" "$copy/$build/tests/"
	done
	chown -R nobody: "$copy"
	chmod 0755 "$copy"
	runuser -u nobody -- env -i PATH=/usr/local/bin:/usr/bin:/bin \
		HOME="$copy" LANG=C.UTF-8 \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
		"$copy/tests/fuzz/run.sh" --build "$build" --seconds "$seconds" \
		"${targets[@]}"
	rc=$?
	if ((rc == 0)); then
		rm -rf "$copy"
	else
		echo "# the failing inputs stay in $copy/$build/fuzz-crashes"
	fi
	exit "$rc"
fi

# libFuzzer sets ASan's options it needs; UBSan's reports want a stack.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0 failed=0 n=0

# clear_dir DIR: remove DIR, whatever modes a layer left inside it.
clear_dir() {
	[ -e "$1" ] || return 0
	chmod -R u+rwx "$1" 2>/dev/null
	rm -rf "$1"
}

# report_failure NAME LOG ARTIFACTS: the sanitizer's report and the input.
report_failure() {
	local name=$1 log=$2 art=$3 input
	# From the first report to its SUMMARY line (ASan, LeakSanitizer,
	# UBSan's "runtime error", libFuzzer's timeout and out-of-memory).
	sed -n '/ERROR\|runtime error/,/^SUMMARY/p' "$log" | head -n 60 |
		sed "s|^|[fuzz/$name] # |"
	input=$(ls -t "$art" 2>/dev/null | head -n 1)
	if [ -z "$input" ]; then
		echo "[fuzz/$name] # no input was written; the log is $log"
		tail -n 20 "$log" | sed "s|^|[fuzz/$name] # |"
		return
	fi
	echo "[fuzz/$name] # the input: $art$input"
	if (($(stat -c %s "$art$input") <= 4096)); then
		echo "[fuzz/$name] # base64: $(base64 -w 0 "$art$input")"
	fi
}

for bin in "${bins[@]}"; do
	n=$((n + 1))
	name=${bin##*/fuzz_}
	if [ ! -x "$bin" ]; then
		echo "[fuzz/$name] not ok $n - no target $bin (run make fuzz)"
		failed=$((failed + 1))
		continue
	fi
	seeds=$here/tests/fuzz/corpus/$name
	work=$here/$build/fuzz-corpus/$name
	art=$here/$build/fuzz-crashes/$name/
	log=$here/$build/fuzz-logs/$name.log
	# What a target writes (fuzz_unpack's layers) stays in DIR/fuzz-tmp.
	export TMPDIR=$here/$build/fuzz-tmp/$name
	clear_dir "$TMPDIR"
	mkdir -p "$work" "$art" "$(dirname "$log")" "$TMPDIR"
	args=(-max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048
		-print_final_stats=1 -artifact_prefix="$art")
	[ -f "$here/tests/fuzz/$name.dict" ] &&
		args+=(-dict="$here/tests/fuzz/$name.dict")
	dirs=("$work")
	if [ -d "$seeds" ]; then
		dirs+=("$seeds")
	else
		echo "[fuzz/$name] # no seeds in tests/fuzz/corpus/$name"
	fi
	start=$SECONDS
	# A hard stop past libFuzzer's own limit, should the target wedge.
	timeout -k 10 $((seconds + 120)) "$bin" "${args[@]}" "${dirs[@]}" \
		>"$log" 2>&1
	rc=$?
	took=$((SECONDS - start))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	if ((rc == 0)); then
		echo "[fuzz/$name] ok $n - fuzz_$name: ${runs:-?} inputs in $took s, ${cov:-cov: ?}"
		passed=$((passed + 1))
		clear_dir "$TMPDIR"
	else
		echo "[fuzz/$name] not ok $n - fuzz_$name failed (exit $rc) after $took s"
		report_failure "$name" "$log" "$art"
		failed=$((failed + 1))
	fi
done
if ((n == 0)); then
	echo "[fuzz] not ok - no fuzz targets in $build/tests (run make fuzz)"
	failed=1
fi
echo "$passed passed, $failed failed"
((failed == 0))
