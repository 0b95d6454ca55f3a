#!/usr/bin/env bats
# semantics.bats - what hutch-overlay does beyond the kernel's formats, and
# behaviour the differential suite cannot see: OCI whiteouts, stable
# readdir offsets and inode numbers, locks, big files, ownership options,
# unmounting and namespaces, concurrency.

load ../lib/common
load lib

setup() {
	d=$BATS_TEST_TMPDIR
	mkdir -p "$d"/{l1,l2,u,w,m}
	echo l2 >"$d/l2/a"
	echo l2 >"$d/l2/b"
	mkdir -p "$d/l2/dir" "$d/l1/dir"
	for i in $(seq 1 30); do echo "$i" >"$d/l2/dir/f$i"; done
	echo top >"$d/l1/dir/top"
	echo l1 >"$d/l1/a"
}

teardown() {
	ns_cleanup
}

@test "OCI whiteouts: .wh.NAME and .wh..wh..opq in lower layers hide names" {
	mkdir -p "$d/l2/opq" && echo x >"$d/l2/opq/hidden"
	mkdir -p "$d/l1/opq" && touch "$d/l1/opq/.wh..wh..opq" && echo y >"$d/l1/opq/shown"
	touch "$d/l1/.wh.b" "$d/l1/dir/.wh.f7"
	with_overlay "$(std_opts)" '
		[ "$(ls $M)" = "$(printf "a\ndir\nopq")" ]
		[ "$(ls $M/opq)" = shown ]
		! ls $M/dir | grep -qx f7 || false
		[ "$(ls $M/dir | wc -l)" = 30 ]
		! stat $M/b 2>/dev/null || false
		! stat $M/.wh.b 2>/dev/null || false
		echo back >$M/b && [ "$(cat $M/b)" = back ]
		# the upper holds only the kernel'"'"'s markers: the name is free
		touch $M/.wh.new && [ -f $M/.wh.new ]
		[ "$(ls $M)" = "$(printf "a\nb\ndir\nopq")" ]'
	[ -f "$d/u/.wh.new" ]
}

@test "directory renames: redirect_dir=on moves merged directories; cached children and inode numbers follow" {
	with_overlay "$(std_opts),redirect_dir=on" '
		rn() { python3 -c "import os, sys; os.rename(sys.argv[1], sys.argv[2])" "$@"; }
		ino=$(stat -c %i $M/dir)
		cd $M/dir && [ "$(cat f3)" = 3 ]
		rn $M/dir $M/moved
		# the shell still sits in it: its nodes resolve through the move
		[ "$(cat f5)" = 5 ] && [ "$(cat top)" = top ]
		[ "$(stat -c %i $M/moved)" = "$ino" ]
		[ "$(ls $M/moved | wc -l)" = 31 ]
		! stat $M/dir 2>/dev/null || false
		echo changed >$M/moved/f5
		mkdir $M/moved/sub && rn $M/moved $M/sub-of-root
		[ "$(cat $M/sub-of-root/f5)" = changed ]
		[ "$(cat $M/sub-of-root/f6)" = 6 ]
		mkdir $M/dir && [ -z "$(ls $M/dir)" ]'
	[ "$(getfattr --only-values -n user.overlay.redirect "$d/u/sub-of-root")" = dir ]
	[ "$(getfattr --only-values -n user.overlay.opaque "$d/u/dir")" = y ]
	[ "$(cat "$d/u/sub-of-root/f5")" = changed ]
	[ ! -e "$d/u/sub-of-root/f6" ]
}

@test "directory renames: EXDEV by default, and with OCI markers even with redirect_dir=on" {
	local snippet='
		python3 -c "
import errno, os, sys
try:
    os.rename(sys.argv[1], sys.argv[2])
except OSError as e:
    sys.exit(0 if e.errno == errno.EXDEV else 1)
sys.exit(1)" $M/dir $M/moved
		[ "$(ls $M/dir | wc -l)" = 31 ] && ! stat $M/moved 2>/dev/null'
	with_overlay "$(std_opts)" "$snippet"
	with_overlay "$(std_opts),redirect_dir=on,oci_whiteouts" "$snippet"
	[ ! -e "$d/u/moved" ]
}

@test "OCI whiteouts: written as .wh. files with -o oci_whiteouts" {
	with_overlay "$(std_opts),oci_whiteouts" '
		rm $M/b
		rm -r $M/dir
		mkdir $M/dir && touch $M/dir/new
		[ "$(ls $M)" = "$(printf "a\ndir")" ]
		[ "$(ls $M/dir)" = new ]'
	[ -f "$d/u/.wh.b" ]
	[ -f "$d/u/dir/.wh..wh..opq" ]
	[ ! -e "$d/u/.wh.dir" ]
	# mounted again, the markers still hide the lower names, and the
	# .wh. names stay reserved in this upper
	with_overlay "$(std_opts)" '
		[ "$(ls $M)" = "$(printf "a\ndir")" ]
		[ "$(ls $M/dir)" = new ]
		! touch $M/.wh.new 2>/dev/null || false'
}

@test "xattr whiteouts inside a directory marked opaque=x" {
	mkdir -p "$d/l1/x" "$d/l2/x" && echo 1 >"$d/l2/x/gone" && echo 2 >"$d/l2/x/kept"
	touch "$d/l1/x/gone"
	setfattr -n user.overlay.whiteout -v y "$d/l1/x/gone"
	setfattr -n user.overlay.opaque -v x "$d/l1/x"
	with_overlay "$(std_opts)" '
		[ "$(ls $M/x)" = kept ]
		! stat $M/x/gone 2>/dev/null || false'
}

@test "read-only mount with lower layers only" {
	with_overlay "lowerdir=$d/l1:$d/l2" '
		[ "$(cat $M/a)" = l1 ]
		[ "$(ls $M/dir | wc -l)" = 31 ]
		! touch $M/new 2>/dev/null || false
		! rm $M/a 2>/dev/null || false
		touch $M/new 2>&1 | grep -q "Read-only file system"'
}

@test "readdir: offsets stay valid while entries are added during a listing" {
	with_overlay "$(std_opts)" "/usr/bin/python3 $FUSE_TESTS/probe.py seekdir \$M/dir"
}

@test "inode numbers: stable across copy-up, shared only by hard links" {
	ln "$d/l2/a" "$d/l2/a-link"
	with_overlay "$(std_opts)" '
		before=$(stat -c %i $M/dir/f3)
		echo more >>$M/dir/f3
		[ "$(stat -c %i $M/dir/f3)" = "$before" ]
		dbefore=$(stat -c %i $M/dir)
		touch $M/dir/new
		[ "$(stat -c %i $M/dir)" = "$dbefore" ]
		[ "$(stat -c %i $M/b)" = "$(stat -c %i $M/b)" ]
		/usr/bin/python3 '"$FUSE_TESTS"'/probe.py inodes $M'
}

@test "flock and POSIX locks exclude other processes" {
	with_overlay "$(std_opts)" "/usr/bin/python3 $FUSE_TESTS/probe.py locks \$M/a"
}

@test "shared mappings, fsync, fallocate and copy_file_range" {
	with_overlay "$(std_opts)" '
		seq 1000 >>$M/b
		/usr/bin/python3 '"$FUSE_TESTS"'/probe.py mmap $M/b
		[ "$(head -c 6 '"$d"'/u/b)" = MAPPED ]
		fallocate -l 1M $M/alloc && [ "$(stat -c %s $M/alloc)" = 1048576 ]
		cp --reflink=never $M/dir/f1 $M/copy && [ "$(cat $M/copy)" = 1 ]
		sync $M/copy'
}

@test "files over 4 GiB: sparse writes, reads and a copy-up that keeps holes" {
	truncate -s 6G "$d/l2/big"
	printf end | dd of="$d/l2/big" bs=1 seek=6442450941 conv=notrunc status=none
	with_overlay "$(std_opts)" '
		[ "$(tail -c 3 $M/big)" = end ]
		printf mid | dd of=$M/big bs=1 seek=5368709120 conv=notrunc status=none
		[ "$(dd if=$M/big bs=1 skip=5368709120 count=3 status=none)" = mid ]
		[ "$(stat -c %s $M/big)" = 6442450944 ]
		[ "$(du -k '"$d"'/u/big | cut -f1)" -lt 10240 ]
		printf x | dd of=$M/huge bs=1 seek=5000000000 status=none
		[ "$(stat -c %s $M/huge)" = 5000000001 ]'
}

@test "xattrs: overlay names are stored escaped and markers stay hidden" {
	with_overlay "$(std_opts)" '
		setfattr -n user.overlay.mine -v 1 $M/a
		[ "$(getfattr --only-values -n user.overlay.mine $M/a)" = 1 ]
		setfattr -n user.plain -v 2 $M/a
		rm -r $M/dir && mkdir $M/dir
		! getfattr -n user.overlay.opaque $M/dir 2>/dev/null || false
		[ -z "$(getfattr -m - -d $M/dir 2>/dev/null)" ]'
	getfattr -n user.overlay.overlay.mine "$d/u/a"
	getfattr -n user.plain "$d/u/a"
	[ "$(getfattr --only-values -n user.overlay.opaque "$d/u/dir")" = y ]
}

@test "ownership: root of the namespace; other ids where they are mapped" {
	with_overlay "$(std_opts)" '
		[ "$(stat -c %u:%g $M/a)" = 0:0 ]
		touch $M/mine && [ "$(stat -c %u:%g $M/mine)" = 0:0 ]
		if [ "$(awk "NR==2{print \$1}" /proc/self/uid_map)" = 1 ]; then
			chown 1000:50 $M/a && [ "$(stat -c %u:%g $M/a)" = 1000:50 ]
			mkdir -m 1777 $M/tmp
			# relative: the test directory above $M is private
			(cd $M/tmp && setpriv --reuid=1000 --regid=50 --clear-groups touch byuser)
			[ "$(stat -c %u:%g $M/tmp/byuser)" = 1000:50 ]
			mkdir $M/sg && chown 0:50 $M/sg && chmod 2775 $M/sg
			touch $M/sg/f && [ "$(stat -c %g $M/sg/f)" = 50 ]
		else
			! chown 1000 $M/a 2>/dev/null || false
		fi'
	[ "$(stat -c %u "$d/u/mine")" = "$(id -u)" ]
}

@test "squash_to_root, squash_to_uid/gid and uidmapping/gidmapping" {
	# In the single mapping 123 and 45 are unmapped: they show as nobody.
	want=123:45
	[ "$(mode_now)" = full ] || want=65534:65534
	with_overlay "$(std_opts),squash_to_uid=123,squash_to_gid=45" '
		[ "$(stat -c %u:%g $M/a $M/dir | sort -u)" = '"$want"' ]'
	with_overlay "$(std_opts),squash_to_root" '
		[ "$(stat -c %u:%g $M/a $M/dir | sort -u)" = 0:0 ]'
	with_overlay "$(std_opts),uidmapping=0:0:1:1000:7:1,gidmapping=0:0:1:1000:8:1" '
		[ "$(stat -c %u:%g $M/a)" = 0:0 ]
		touch $M/n
		if [ "$(awk "NR==2{print \$1}" /proc/self/uid_map)" = 1 ]; then
			chown 1000:1000 $M/n
			[ "$(stat -c %u:%g '"$d"'/u/n)" = 7:8 ]
			[ "$(stat -c %u:%g $M/n)" = 1000:1000 ]
		fi
		! chown 5:5 $M/n 2>/dev/null || false'
}

@test "statfs describes the upper's filesystem" {
	with_overlay "$(std_opts)" '
		[ "$(stat -f -c %b $M)" = "$(stat -f -c %b '"$d"'/u)" ]'
}

@test "unmount ends the daemon: umount, fusermount3 -u and SIGTERM" {
	run userns_exec bash -euc '
		d='"$d"' OVL='"$OVL"'
		for how in umount fusermount3 term; do
			"$OVL" -o "lowerdir=$d/l1:$d/l2,upperdir=$d/u,workdir=$d/w" "$d/m"
			pid=$(pgrep -n -f "hutch-overlay -o lowerdir=$d/l1")
			[ -n "$pid" ] && grep -q " $d/m " /proc/self/mountinfo
			case $how in
			umount) umount "$d/m" ;;
			fusermount3) fusermount3 -u "$d/m" ;;
			term) kill -TERM "$pid" ;;
			esac
			for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
			! kill -0 "$pid" 2>/dev/null || false
			! grep -q " $d/m " /proc/self/mountinfo || false
		done'
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "--exit-with-mntns: the daemon ends with its mount namespace" {
	userns_exec bash -c '
		"'"$OVL"'" --exit-with-mntns -o "'"$(std_opts)"'" "'"$d"'/m" || exit 1
		pgrep -n -f "exit-with-mntns -o lowerdir='"$d"'" >"'"$d"'/pid"
		cat "'"$d"'/m/a" >"'"$d"'/seen"'
	[ "$(cat "$d/seen")" = l1 ]
	pid=$(cat "$d/pid")
	[ -n "$pid" ]
	wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
}

@test "as an unprivileged user on the host, through fusermount3" {
	"$OVL" -o "$(std_opts)" "$d/m"
	pid=$(pgrep -n -f "hutch-overlay -o lowerdir=$d/l1")
	[ "$(cat "$d/m/a")" = l1 ]
	echo new >"$d/m/new"
	rm "$d/m/b"
	fusermount3 -u "$d/m"
	wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
	[ "$(cat "$d/u/new")" = new ]
	[ -c "$d/u/b" ] || [ -f "$d/u/.wh.b" ]
}

@test "concurrent creates, renames, removals and listings do not deadlock" {
	with_overlay "$(std_opts)" '
		work() {
			for i in $(seq 1 150); do
				echo $i >$M/dir/w$1-$i
				mv $M/dir/w$1-$i $M/dir/r$1-$i
				cat $M/dir/f$((i % 30 + 1)) >/dev/null
				[ $((i % 3)) = 0 ] && rm $M/dir/r$1-$i
				ls $M/dir >/dev/null
				[ $((i % 10)) = 0 ] && echo x >>$M/dir/f$((i % 30 + 1))
			done
		}
		for w in 1 2 3 4; do work $w & done
		wait
		[ "$(ls $M/dir | grep -c "^r")" = 400 ]'
}
