#!/bin/bash
# mkfixture.sh DIR [MODE] - the layers the overlay suites start from
#
# Creates DIR/l1 (top lower), DIR/l2, DIR/l3 (bottom), DIR/u (upper), DIR/w
# (workdir) and DIR/m (mountpoint), with files, directories, symlinks,
# hardlinks, a FIFO, xattrs, whiteouts (0/0 character devices), opaque
# directories (user.overlay.opaque=y), a long name, a deep tree and a
# sparse file over 4 GiB. Runs as root of a user namespace; MODE "full"
# (a subordinate id range is mapped) adds files owned by other ids.
# Only kernel-overlayfs formats are used, so the kernel can mount it too.
set -eu
d=$1 mode=${2:-single}
mkdir -p "$d"/{l1,l2,l3,u,w,m}
cd "$d"

# bottom layer
mkdir -p l3/d1/sub l3/d2 l3/d3 l3/opq l3/empty/inner l3/deep
echo "a from l3" >l3/a
echo "b from l3" >l3/b
echo "c from l3" >l3/c
printf 'f1 %.0s' {1..100} >l3/f1
echo "hardlinked" >l3/hl1
ln l3/hl1 l3/hl2
ln -s a l3/sym
ln -s d1 l3/symdir
mkfifo l3/x
for f in a b x y; do echo "d1/$f l3" >l3/d1/$f; done
echo "d1/sub/a l3" >l3/d1/sub/a
for f in a b c; do echo "d2/$f l3" >l3/d2/$f; done
echo "d3/a l3" >l3/d3/a
for f in a b; do echo "opq/$f l3" >l3/opq/$f; done
echo "hidden" >l3/empty/inner/z
p=l3/deep
for i in $(seq 1 25); do p=$p/a$i; mkdir "$p"; done
echo deep >"$p/leaf"
mkdir -p l3/deep/a/b
echo "deep a b" >l3/deep/a/b/a
long=$(printf 'n%.0s' {1..255})
echo long >"l3/$long"
truncate -s 5G l3/big
printf 'at4.5G' | dd of=l3/big bs=1 seek=4831838208 conv=notrunc status=none
setfattr -n user.k -v l3value l3/a
setfattr -n user.m -v dirvalue l3/d1
chmod 0640 l3/c
chmod 0750 l3/d3

# middle layer: overrides, a whiteout, an opaque directory
mkdir -p l2/d1 l2/opq l2/d2
echo "a from l2" >l2/a
echo "d1/x l2" >l2/d1/x
mknod l2/b c 0 0
mknod l2/d2/b c 0 0
setfattr -n user.overlay.opaque -v y l2/opq
echo "opq/c l2" >l2/opq/c
echo "only in l2" >l2/f2
mkdir -p l2/d3
echo "d3/b l2" >l2/d3/b

# top layer
mkdir -p l1/d1/sub
echo "d1/sub/b l1" >l1/d1/sub/b
echo "top" >l1/top
mknod l1/d3/b c 0 0 2>/dev/null || { mkdir -p l1/d3 && mknod l1/d3/b c 0 0; }

# the upper, as a previous run may have left it
mkdir -p u/d1 u/empty
echo "d1/new from upper" >u/d1/new
mknod u/c c 0 0
setfattr -n user.overlay.opaque -v y u/empty
echo "upper only" >u/uonly

if [ "$mode" = full ]; then
	chown 1000:1000 l3/f1 l3/d2/a
	chown 1000:50 l3/d3
	chown -h 2000:2000 l3/sym
fi
