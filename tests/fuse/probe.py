#!/usr/bin/env python3
"""probe.py - checks of one behaviour each, run on a mounted overlay.

usage: probe.py seekdir DIR     telldir/seekdir stay valid while entries
                                are added during the listing
       probe.py locks FILE      flock and POSIX locks exclude another process
       probe.py mmap FILE       writes through a shared mapping reach read()
       probe.py inodes DIR      inode numbers: equal only for hard links
Prints "ok" and exits 0, or says what is wrong and exits 1.
"""

import ctypes
import fcntl
import mmap
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)


class Dirent(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64),
                ("d_reclen", ctypes.c_ushort), ("d_type", ctypes.c_ubyte),
                ("d_name", ctypes.c_char * 256)]


libc.opendir.restype = ctypes.c_void_p
libc.opendir.argtypes = [ctypes.c_char_p]
libc.readdir64.restype = ctypes.POINTER(Dirent)
libc.readdir64.argtypes = [ctypes.c_void_p]
libc.telldir.restype = ctypes.c_long
libc.telldir.argtypes = [ctypes.c_void_p]
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
libc.closedir.argtypes = [ctypes.c_void_p]


def fail(msg):
    print(msg)
    sys.exit(1)


def read_one(d):
    e = libc.readdir64(d)
    return e.contents.d_name.decode() if e else None


def seekdir(path):
    d = libc.opendir(path.encode())
    if not d:
        fail("opendir failed")
    seen = []  # (position before the entry, name)
    half = len(os.listdir(path)) // 2
    while True:
        pos = libc.telldir(d)
        name = read_one(d)
        if name is None:
            break
        seen.append((pos, name))
        if len(seen) == half:
            for i in range(40):  # new entries while the listing runs
                open(os.path.join(path, "added-%d" % i), "w").close()
    names = [n for _, n in seen]
    if len(names) != len(set(names)):
        fail("duplicate entries: %s" % sorted(names))
    for pos, name in reversed(seen):
        libc.seekdir(d, pos)
        got = read_one(d)
        if got != name:
            fail("seekdir to the position of %s read %s" % (name, got))
    libc.closedir(d)
    print("ok")


def child_tries(fn):
    pid = os.fork()
    if pid == 0:
        try:
            fn()
            os._exit(0)
        except BlockingIOError:
            os._exit(1)
        except OSError:
            os._exit(2)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def locks(path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    fd2 = os.open(path, os.O_RDWR)
    if child_tries(lambda: fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)) != 1:
        fail("a second flock got the lock")
    fcntl.flock(fd, fcntl.LOCK_UN)
    if child_tries(lambda: fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)) != 0:
        fail("flock not free after unlock")
    fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)
    if child_tries(lambda: fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 5)) != 1:
        fail("an overlapping POSIX lock was granted")
    if child_tries(lambda: fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 20)) != 0:
        fail("a disjoint POSIX lock was refused")
    print("ok")


def mapped(path):
    fd = os.open(path, os.O_RDWR)
    size = os.fstat(fd).st_size
    m = mmap.mmap(fd, size, mmap.MAP_SHARED)
    m[0:6] = b"MAPPED"
    m.flush()
    m.close()
    os.fsync(fd)
    os.close(fd)
    with open(path, "rb") as f:
        if f.read(6) != b"MAPPED":
            fail("write through the mapping lost")
    print("ok")


def inodes(path):
    by_ino = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            by_ino.setdefault(st.st_ino, []).append((p, st))
    for ino, objs in by_ino.items():
        if len(objs) > 1:
            for p, st in objs:
                if os.path.isdir(p) or st.st_nlink < len(objs):
                    fail("inode %d shared by %s" % (ino, [q for q, _ in objs]))
    print("ok")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    {"seekdir": seekdir, "locks": locks, "mmap": mapped,
     "inodes": inodes}[sys.argv[1]](sys.argv[2])


if __name__ == "__main__":
    main()
