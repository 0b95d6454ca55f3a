#!/usr/bin/env bash
# tests/device/prepare-gpu-check.sh - build, on the development machine,
# everything tests/device/gpu-check.sh needs on a GPU machine that has no
# package registry, into tests/device/out/ (gitignored; carry it to the
# device machine with the working tree: run's carry ["tests/device/out"]):
#   hutch-bundle.tar.gz    the no-root bundle (make bundle)
#   gpucheck-rootfs.tar.gz a tiny image's root for `hutch import`:
#                          busybox-static, this machine's glibc, libstdc++
#                          and libgcc_s (what nvidia-smi and cuda_check
#                          load), and /cuda_check
#   cuda_check             our CUDA program (cuda_check.cu; nvcc, cudart
#                          static), for sm_80 and sm_90 plus PTX
# Needs: nvcc (CUDA_HOME, default /usr/local/cuda), busybox-static, the
# build's packages. Checks that out/ stays under 64 MiB. Does not need a GPU.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$here/out
cuda=${CUDA_HOME:-/usr/local/cuda}
rm -rf "$out"
mkdir -p "$out"

echo "[prepare] the bundle (make bundle)"
nice make -C "$top" -j2 bundle >"$out/bundle.log" 2>&1 || {
	tail -20 "$out/bundle.log"; exit 1; }
bundle=$(ls "$top"/out/hutch-*.tar.gz | head -n 1)
cp "$bundle" "$out/hutch-bundle.tar.gz"

echo "[prepare] cuda_check with $cuda/bin/nvcc"
"$cuda/bin/nvcc" -O2 -cudart static \
	-gencode arch=compute_80,code=sm_80 \
	-gencode arch=compute_90,code=sm_90 \
	-gencode arch=compute_90,code=compute_90 \
	-o "$out/cuda_check" "$here/cuda_check.cu"

echo "[prepare] the image's root"
root=$out/rootfs
mkdir -p "$root/bin" "$root/usr/bin" "$root/lib64" "$root/lib/x86_64-linux-gnu" \
	"$root/usr/lib/x86_64-linux-gnu" "$root/tmp" "$root/etc" "$root/proc" "$root/dev" "$root/sys"
cp /bin/busybox "$root/bin/busybox"
for t in sh ls cat echo env id grep; do ln -s busybox "$root/bin/$t"; done
cp "$out/cuda_check" "$root/cuda_check"
# The glibc the programs link (the GPU machine's nvidia-smi is bound in
# from its host and needs a glibc at least as new as its own build's).
libs=$(ldd "$out/cuda_check" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }')
for l in $libs /lib/x86_64-linux-gnu/libdl.so.2 /lib/x86_64-linux-gnu/libpthread.so.0 \
	/lib/x86_64-linux-gnu/librt.so.1 /lib/x86_64-linux-gnu/libm.so.6 \
	/lib/x86_64-linux-gnu/libstdc++.so.6 /lib/x86_64-linux-gnu/libgcc_s.so.1; do
	[ -e "$l" ] || continue
	cp -L "$l" "$root/lib/x86_64-linux-gnu/$(basename "$l")"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
tar -C "$root" -czf "$out/gpucheck-rootfs.tar.gz" .
rm -rf "$root"

size=$(du -sm "$out" | cut -f1)
echo "[prepare] $out: ${size} MiB"
ls -l "$out"
if ((size >= 64)); then
	echo "[prepare] too big to travel (64 MiB at most)" >&2
	exit 1
fi
