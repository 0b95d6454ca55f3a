#!/usr/bin/env bash
# tests/device/gpu-check.sh - the GPU device check, for a GPU machine
# without a package registry; run as root from the repository root after
# tests/device/prepare-gpu-check.sh filled tests/device/out/ on the
# development machine (it travels with the working tree: run's carry
# ["tests/device/out"]). Finishes in well under 5 minutes:
#
#   tests/device/gpu-check.sh            every check
#   tests/device/gpu-check.sh --dry-run  what it would do, without root
#                                        or a GPU (checks the artifacts)
#
# It creates an unprivileged user (hutch-gpu), unpacks the no-root bundle
# and imports the image's root as that user, then runs as that user, one
# "PASS NAME" or "FAIL NAME: WHY" line each:
#   host-driver   the host has /proc/driver/nvidia/version and /dev/nvidia0
#   image         the image and /cuda_check load (without --gpus it runs and
#                 says it has no GPU: proof the program, not hutch, failed)
#   info          hutch info's GPU section names the driver's version
#   nvidia-smi    hutch run --gpus all IMAGE nvidia-smi -L lists a GPU
#   cuda          hutch run --gpus all IMAGE /cuda_check (allocate, kernel,
#                 check)
#   gpus-1        the same with --gpus 1 and --gpus device=0
#   cdi           hutch run --device nvidia.com/gpu=all with a spec this
#                 script writes from the host's driver (device nodes,
#                 libraries as mounts), /cuda_check
#   nvidia-ctk    the same with `nvidia-ctk cdi generate`'s spec, when the
#                 host has nvidia-ctk (its hooks run rootless), else SKIP
# The last line is "N passed, N failed, N skipped"; exit 1 if any failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
user=${HUTCH_GPU_CHECK_USER:-hutch-gpu} # another existing user for a rehearsal
dry=
[ "${1:-}" = "--dry-run" ] && dry=1
pass=0 fail=0 skip=0
result() { # result PASS|FAIL|SKIP NAME [WHY]
	case $1 in
	PASS) pass=$((pass + 1)); echo "PASS $2" ;;
	FAIL) fail=$((fail + 1)); echo "FAIL $2: $3" ;;
	SKIP) skip=$((skip + 1)); echo "SKIP $2: $3" ;;
	esac
}

for f in hutch-bundle.tar.gz gpucheck-rootfs.tar.gz cuda_check; do
	if [ ! -s "$out/$f" ]; then
		echo "FAIL artifacts: $out/$f is missing; run tests/device/prepare-gpu-check.sh on the development machine"
		exit 1
	fi
done
if [ -n "$dry" ]; then
	echo "dry run: artifacts present ($(du -sm "$out" | cut -f1) MiB)"
	tar -tzf "$out/hutch-bundle.tar.gz" | grep -E '/bin/hutch$' >/dev/null || { echo "FAIL artifacts: no bin/hutch in the bundle"; exit 1; }
	tar -tzf "$out/gpucheck-rootfs.tar.gz" | grep -E '^(\./)?cuda_check$' >/dev/null || { echo "FAIL artifacts: no /cuda_check in the image"; exit 1; }
	echo "dry run: would create $user, unpack the bundle, import the image and run the checks above"
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "FAIL setup: run as root (it creates the user $user)"; exit 1; }

# --- as root: the user, the bundle, the image ------------------------------
id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$user" || { echo "FAIL setup: useradd $user"; exit 1; }
home=$(getent passwd "$user" | cut -d: -f6)
work=$home/gpu-check
rm -rf "$work"
mkdir -p "$work/cdi" "$work/cdi-ctk"
tar -C "$work" -xzf "$out/hutch-bundle.tar.gz"
cp "$out/gpucheck-rootfs.tar.gz" "$work/"
chown -R "$user:" "$work"
hutch=$(ls -d "$work"/hutch-*/bin/hutch | head -n 1)
as_user() { # as_user TIMEOUT CMD...: run as the user, in its own store
	local t=$1
	shift
	timeout "$t" runuser -u "$user" -- env -i HOME="$home" PATH=/usr/bin:/bin \
		HUTCH_ROOT="$work/store" HUTCH_RUNTIME="$work/run" "$@"
}
IMAGE=gpucheck:1

# --- checks -----------------------------------------------------------------
if [ -r /proc/driver/nvidia/version ] && [ -e /dev/nvidia0 ]; then
	result PASS host-driver
else
	result FAIL host-driver "no /proc/driver/nvidia/version or /dev/nvidia0 on this machine"
fi

if ! o=$(as_user 60 "$hutch" import "$work/gpucheck-rootfs.tar.gz" "$IMAGE" 2>&1); then
	result FAIL import "$(echo "$o" | tail -1)"
fi

# The image and our program load at all (no GPU asked for: it must say
# so itself, in its one line).
o=$(as_user 60 "$hutch" run --rm "$IMAGE" /cuda_check 2>&1)
if echo "$o" | grep -q '^cuda_check: '; then
	result PASS image
else
	result FAIL image "$(echo "$o" | tail -2 | tr '\n' '|')"
fi

o=$(as_user 30 "$hutch" info 2>&1)
v=$(sed -n 's/^.*Kernel Module *\([0-9.]*\).*/\1/p' /proc/driver/nvidia/version 2>/dev/null)
if [ -n "$v" ] && echo "$o" | grep -q "^gpu driver: $v\$"; then
	result PASS info
else
	result FAIL info "$(echo "$o" | grep '^gpu' | head -3 | tr '\n' '|')"
fi

o=$(as_user 60 "$hutch" run --rm --gpus all "$IMAGE" nvidia-smi -L 2>&1)
if echo "$o" | grep -q '^GPU 0:'; then
	result PASS nvidia-smi
else
	result FAIL nvidia-smi "$(echo "$o" | tail -2 | tr '\n' '|')"
fi

o=$(as_user 60 "$hutch" run --rm --gpus all "$IMAGE" /cuda_check 2>&1)
if echo "$o" | grep -q '^cuda_check: ok'; then
	result PASS cuda
else
	result FAIL cuda "$(echo "$o" | tail -2 | tr '\n' '|')"
fi

o1=$(as_user 60 "$hutch" run --rm --gpus 1 "$IMAGE" sh -c 'ls /dev | grep -c "^nvidia[0-9]"; /cuda_check' 2>&1)
o2=$(as_user 60 "$hutch" run --rm --gpus device=0 "$IMAGE" /cuda_check 2>&1)
if [ "$(echo "$o1" | head -1)" = 1 ] && echo "$o1" | grep -q '^cuda_check: ok' &&
	echo "$o2" | grep -q '^cuda_check: ok'; then
	result PASS gpus-1
else
	result FAIL gpus-1 "$(echo "$o1 $o2" | tail -3 | tr '\n' '|')"
fi

# A hand-written spec: the nodes, and the driver's libraries (as the host's
# ldconfig finds them) as mounts on the image's library directory.
{
	echo 'cdiVersion: "0.6.0"'
	echo 'kind: nvidia.com/gpu'
	echo 'containerEdits:'
	echo '  deviceNodes:'
	for n in /dev/nvidiactl /dev/nvidia-uvm /dev/nvidia-uvm-tools; do
		[ -e "$n" ] && echo "    - {path: $n}"
	done
	echo '  mounts:'
	ldconfig -p | awk '/x86-64/ && /(libcuda|libnvidia-ml|libnvidia-ptxjitcompiler|libnvidia-nvvm)\.so\.[0-9]+ / { print $1, $NF }' |
		while read -r so path; do
			echo "    - {hostPath: $path, containerPath: /usr/lib/x86_64-linux-gnu/$so, options: [ro, nosuid, nodev, bind]}"
		done
	echo 'devices:'
	echo '  - name: all'
	echo '    containerEdits:'
	echo '      deviceNodes:'
	for n in /dev/nvidia[0-9]*; do [ -e "$n" ] && echo "        - {path: $n}"; done
} >"$work/cdi/nvidia.yaml"
chown -R "$user:" "$work/cdi"
o=$(as_user 60 "$hutch" run --rm --cdi-spec-dir "$work/cdi" --device nvidia.com/gpu=all "$IMAGE" /cuda_check 2>&1)
if echo "$o" | grep -q '^cuda_check: ok'; then
	result PASS cdi
else
	result FAIL cdi "$(echo "$o" | tail -2 | tr '\n' '|')"
fi

if command -v nvidia-ctk >/dev/null; then
	if nvidia-ctk cdi generate --output="$work/cdi-ctk/nvidia.yaml" >/dev/null 2>&1; then
		chown -R "$user:" "$work/cdi-ctk"
		o=$(as_user 60 "$hutch" run --rm --cdi-spec-dir "$work/cdi-ctk" --device nvidia.com/gpu=all "$IMAGE" /cuda_check 2>&1)
		if echo "$o" | grep -q '^cuda_check: ok'; then
			result PASS nvidia-ctk
		else
			result FAIL nvidia-ctk "$(echo "$o" | tail -2 | tr '\n' '|')"
		fi
	else
		result FAIL nvidia-ctk "nvidia-ctk cdi generate failed"
	fi
else
	result SKIP nvidia-ctk "no nvidia-ctk on this machine"
fi

echo "$pass passed, $fail failed, $skip skipped"
((fail == 0))
