#!/usr/bin/env python3
"""fsops.py - run a script of filesystem operations, one result line each.

usage: fsops.py run ROOT < SCRIPT     execute SCRIPT (one op a line) in ROOT
       fsops.py gen SEED COUNT        print COUNT random ops (deterministic)
       fsops.py fuzz SEED COUNT ROOT SCRIPT
                                      run COUNT random ops in ROOT, biased
                                      to what exists; write them to SCRIPT
       fsops.py tree ROOT             print the visible tree, one line each
       fsops.py markers UPPER         print an upper dir's entries and markers
       fsops.py xlate DIR user|trusted
                                      move overlay markers to that namespace
       fsops.py chasm DIR             make deeper.ops's fixture in the
                                      layers DIR/l1, l2 and l3

The differential suite runs the same script on the kernel's overlayfs and on
hutch-overlay and compares the outputs line by line: every op's result
(value or errno name) and the trees afterwards. Paths in scripts are
relative to ROOT (or to the directory the last "cd" op entered) and
contain no spaces; "{L}" in a script stands for a 200-byte name, so that
scripts can go beyond PATH_MAX (cd one component at a time, then work
relative to there, as the kernel allows at any depth).
"""

import ctypes
import errno
import hashlib
import os
import random
import stat
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
LONG = "L" * 200  # what "{L}" stands for in scripts
OVERLAY_XATTR = ("user.overlay.", "trusted.overlay.")


def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def kind(mode):
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"),
                       (stat.S_ISLNK, "link"), (stat.S_ISFIFO, "fifo"),
                       (stat.S_ISSOCK, "sock"), (stat.S_ISCHR, "chr"),
                       (stat.S_ISBLK, "blk")):
        if test(mode):
            return name
    return "?"


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb", opener=lambda q, fl: os.open(q, fl | NB)) as f:
        size = os.fstat(f.fileno()).st_size
        if size > 64 << 20:  # big (sparse) files: head, tail, data map
            h.update(f.read(1 << 20))
            f.seek(size - (1 << 20))
            h.update(f.read())
            try:
                d = os.lseek(f.fileno(), 0, os.SEEK_DATA)
                h.update(b"%d" % d)
            except OSError:
                pass
            return "big:" + h.hexdigest()[:16]
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()[:16]


def describe(path, st, nlink=True):
    """One line about an object: what the suite compares."""
    k = kind(st.st_mode)
    out = [k, "%04o" % stat.S_IMODE(st.st_mode), "%d:%d" % (st.st_uid, st.st_gid)]
    if nlink and k != "dir":
        out.append("n%d" % st.st_nlink)
    if k == "dir":
        out.append("n%d" % st.st_nlink)
    if k == "file":
        out.append("s%d" % st.st_size)
    if k == "link":
        out.append("->" + os.readlink(path))
    if k in ("chr", "blk"):
        out.append("dev%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
    return " ".join(out)


def xattrs(path):
    try:
        names = sorted(os.listxattr(path, follow_symlinks=False))
    except OSError as e:
        return "xattr-err:" + ename(e)
    out = []
    for n in names:
        try:
            v = os.getxattr(path, n, follow_symlinks=False)
            out.append("%s=%s" % (n, v.hex()))
        except OSError as e:
            out.append("%s!%s" % (n, ename(e)))
    return ",".join(out)


# ---- the operations ----------------------------------------------------------

NB = os.O_NONBLOCK  # a FIFO in the tree must not hang the run


def write_flags(p, flags, data):
    fd = os.open(p, flags | NB, 0o666)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)


def op_write(p, data):
    write_flags(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, data)


def op_append(p, data):
    write_flags(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, data)


def op_pwrite(p, off, data):
    fd = os.open(p, os.O_WRONLY | NB)
    try:
        os.pwrite(fd, data.encode(), int(off))
    finally:
        os.close(fd)


def op_create(p, mode):
    os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY | NB,
                     int(mode, 8)))


def op_read(p):
    fd = os.open(p, os.O_RDONLY | NB)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "not-a-file"
        with os.fdopen(os.dup(fd), "rb") as f:
            b = f.read()
    finally:
        os.close(fd)
    return "%d:%s" % (len(b), hashlib.sha256(b).hexdigest()[:12])


def op_truncate(p, size):
    os.truncate(p, int(size))


def op_ftruncate(p, size):
    fd = os.open(p, os.O_WRONLY | NB)
    try:
        os.ftruncate(fd, int(size))
    finally:
        os.close(fd)


def op_chmod(p, mode):
    os.chmod(p, int(mode, 8))


def op_chown(p, uid, gid):
    os.chown(p, int(uid), int(gid), follow_symlinks=False)


def op_utime(p, atime, mtime):
    os.utime(p, ns=(int(atime) * 10**9, int(mtime) * 10**9),
             follow_symlinks=False)


def op_statm(p):
    st = os.lstat(p)
    # Only times the script set are comparable; others are "now".
    return "mtime=%d" % st.st_mtime if st.st_mtime < 10**9 else "mtime=now"


def op_stat(p):
    return describe(p, os.lstat(p))


def op_link(a, b):
    os.link(a, b)


def op_symlink(target, p):
    os.symlink(target, p)


def op_readlink(p):
    return os.readlink(p)


def op_rename(a, b):
    os.rename(a, b)


def renameat2(a, b, flags):
    r = libc.renameat2(-100, a.encode(), -100, b.encode(), flags)
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def op_exchange(a, b):
    renameat2(a, b, RENAME_EXCHANGE)


def op_noreplace(a, b):
    renameat2(a, b, RENAME_NOREPLACE)


def op_unlink(p):
    os.unlink(p)


def op_rmdir(p):
    os.rmdir(p)


def op_mkdir(p, mode="755"):
    os.mkdir(p, int(mode, 8))


def op_makedirs(p):
    os.makedirs(p)


def op_mkfifo(p):
    os.mkfifo(p)


def op_mknod(p):
    os.mknod(p, 0o644 | stat.S_IFCHR, os.makedev(1, 3))


def op_mknod0(p):
    """A 0/0 character device: the kernel's whiteout format."""
    os.mknod(p, 0o644 | stat.S_IFCHR, 0)


def op_chownsame(p):
    """chown(p, -1, -1): does it change ctime? The clock is first let
    run past the file's ctime (a deadline, not a fixed sleep), so that a
    coarse clock cannot hide a change."""
    before = os.lstat(p).st_ctime_ns
    deadline = time.monotonic() + 5
    while time.time_ns() < before + 20_000_000 and time.monotonic() < deadline:
        time.sleep(0.002)
    os.chown(p, -1, -1, follow_symlinks=False)
    after = os.lstat(p).st_ctime_ns
    return "ctime-changed" if after > before else "ctime-same"


def op_ls(p):
    return " ".join(sorted(os.listdir(p)))


def op_lsl(p):
    out = []
    for n in sorted(os.listdir(p)):
        out.append(n + "=" + describe(os.path.join(p, n),
                                      os.lstat(os.path.join(p, n))))
    return "; ".join(out)


def op_rmtree(p):
    for dirpath, dirnames, filenames in os.walk(p, topdown=False):
        for n in sorted(filenames):
            os.unlink(os.path.join(dirpath, n))
        for n in sorted(dirnames):
            q = os.path.join(dirpath, n)
            if os.path.islink(q):
                os.unlink(q)
            else:
                os.rmdir(q)
    os.rmdir(p)


def op_setxattr(p, name, value):
    os.setxattr(p, name, value.encode(), follow_symlinks=False)


def op_getxattr(p, name):
    return os.getxattr(p, name, follow_symlinks=False).decode(errors="replace")


def op_listxattr(p):
    return " ".join(sorted(os.listxattr(p, follow_symlinks=False)))


def op_rmxattr(p, name):
    os.removexattr(p, name, follow_symlinks=False)


def op_sparse(p, size):
    with open(p, "wb") as f:
        f.truncate(int(size))
        f.seek(int(size) - 5)
        f.write(b"tail!")


def op_fallocate(p, size):
    fd = os.open(p, os.O_RDWR | os.O_CREAT | NB, 0o644)
    try:
        os.posix_fallocate(fd, 0, int(size))
    finally:
        os.close(fd)


def op_copyrange(a, b):
    fi = os.open(a, os.O_RDONLY | NB)
    fo = os.open(b, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | NB, 0o644)
    try:
        n = os.fstat(fi).st_size
        done = 0
        while done < n:
            k = os.copy_file_range(fi, fo, n - done)
            if k == 0:
                break
            done += k
        return str(done)
    finally:
        os.close(fi)
        os.close(fo)


def op_tail(p, off):
    with open(p, "rb", opener=lambda q, fl: os.open(q, fl | NB)) as f:
        f.seek(int(off))
        return f.read(16).hex()


def op_seekdata(p):
    fd = os.open(p, os.O_RDONLY | NB)
    try:
        # Where data starts; where it ends depends on how the copy
        # allocated blocks (the kernel copies up in 1 MiB chunks).
        return str(os.lseek(fd, 0, os.SEEK_DATA))
    finally:
        os.close(fd)


def op_openunlink(p):
    """Keep a file open across its unlink; write and read through it."""
    fd = os.open(p, os.O_RDWR | NB)
    try:
        os.unlink(p)
        os.write(fd, b"after-unlink")
        os.fchmod(fd, 0o600)
        os.lseek(fd, 0, os.SEEK_SET)
        st = os.fstat(fd)
        return "%s n%d %s" % (os.read(fd, 64).hex()[:24], st.st_nlink,
                              oct(stat.S_IMODE(st.st_mode)))
    finally:
        os.close(fd)


ROOT = ["."]


def op_cd(p, count="1"):
    """Enter P (COUNT times), one component at a time; "/" is ROOT."""
    if p == "/":
        os.chdir(ROOT[0])
        return
    for _ in range(int(count)):
        for c in p.split("/"):
            os.chdir(c)


def op_exists(p):
    return str(os.path.lexists(p))


def op_access(p, mode):
    return str(os.access(p, int(mode)))


OPS = {n[3:]: f for n, f in globals().items() if n.startswith("op_")}


def run_one(i, line):
    words = line.split()
    if not words or words[0].startswith("#"):
        return
    fn = OPS.get(words[0])
    if fn is None:
        print("%d %s -> BADOP" % (i, line.strip()))
        return
    try:
        r = fn(*[w.replace("{L}", LONG) for w in words[1:]])
        res = "OK" + ("" if r is None else " " + r)
    except OSError as e:
        res = "ERR " + ename(e)
    print("%d %s -> %s" % (i, line.strip(), res.replace(LONG, "{L}")),
          flush=True)


def run(root):
    ROOT[0] = os.path.abspath(root)
    os.chdir(root)
    for i, line in enumerate(sys.stdin):
        run_one(i, line)


def fuzz(seed, count, root, script):
    """Random ops biased to what exists now in ROOT; the script goes to
    SCRIPT so that another tree can replay it exactly."""
    os.chdir(root)
    rnd = random.Random(int(seed))
    with open(script, "w") as out:
        for i in range(int(count)):
            existing = []
            for dirpath, dirnames, filenames in os.walk("."):
                # the tree beyond PATH_MAX is deep.ops's, not ours
                dirnames[:] = sorted(d for d in dirnames if d != "abyss")
                for n in sorted(dirnames + filenames):
                    if n not in ("big", "abyss"):
                        existing.append(os.path.join(dirpath, n)[2:])
            line = gen_line(rnd, existing)
            out.write(line + "\n")
            run_one(i, line)


# ---- the trees ---------------------------------------------------------------

def squeeze(rel):
    """Write a run of more than 64 {L} components (deeper.ops's chasm) as
    {L}*COUNT, to keep its lines short; shorter runs (deep.ops, and the
    recorded trees) as they are."""
    out, run = [], 0
    for c in rel.split("/") + [None]:
        if c == "{L}":
            run += 1
            continue
        if run:
            out += ["{L}*%d" % run] if run > 64 else ["{L}"] * run
            run = 0
        if c is not None:
            out.append(c)
    return "/".join(out)


def walk(root):
    """(path relative to ROOT, a short path to it, lstat) for everything
    under ROOT, top-down and sorted. Descriptor-based, so that trees deeper
    than PATH_MAX are walked too."""
    for dirpath, dirnames, filenames, dfd in os.fwalk(root):
        dirnames.sort()
        for n in sorted(dirnames + filenames):
            rel = os.path.relpath(os.path.join(dirpath, n), root).replace(
                LONG, "{L}")
            yield squeeze(rel), "/proc/self/fd/%d/%s" % (dfd, n), os.lstat(n, dir_fd=dfd)


def tree(root):
    for rel, p, st in walk(root):
        line = "%s %s" % (rel, describe(p, st))
        if stat.S_ISREG(st.st_mode):
            line += " " + digest(p)
        line += " [" + xattrs(p) + "]"
        print(line)


def markers(upper):
    """An upper dir's entries as stored, overlay bookkeeping left out."""
    for rel, p, st in walk(upper):
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            print("%s WHITEOUT" % rel)
            continue
        line = "%s %s" % (rel, describe(p, st, nlink=False).replace(
            " n%d" % st.st_nlink, ""))
        if stat.S_ISREG(st.st_mode):
            line += " " + digest(p)
        if stat.S_ISDIR(st.st_mode):
            # user.overlay.* (userxattr, hutch-overlay) or trusted.overlay.*
            # (the kernel as real root): the same markers
            for what in ("opaque", "redirect"):
                for ns in OVERLAY_XATTR:
                    try:
                        v = os.getxattr(p, ns + what)
                    except OSError:
                        continue
                    line += " %s=%s" % (what.upper(), v.decode())
                    break
        xs = []
        if not stat.S_ISLNK(st.st_mode):
            for x in sorted(os.listxattr(p, follow_symlinks=False)):
                if x.startswith(OVERLAY_XATTR) and not x.startswith(
                        ("user.overlay.overlay.", "trusted.overlay.overlay.")):
                    continue
                xs.append(x)
        print(line + " [" + ",".join(xs) + "]")


def xlate(root, to):
    """Move the overlay's markers (opaque, redirect, whiteout) under ROOT
    from one xattr namespace to the other: TO "trusted" turns what
    hutch-overlay and userxattr mounts write into what the kernel reads as
    real root, "user" the reverse. Needs real root (trusted.*)."""
    src, dst = (("user.overlay.", "trusted.overlay.") if to == "trusted"
                else ("trusted.overlay.", "user.overlay."))
    def move(p, names):
        for what in names:
            try:
                v = os.getxattr(p, src + what)
            except OSError:
                continue
            os.setxattr(p, dst + what, v)
            os.removexattr(p, src + what)

    for _, p, st in walk(root):
        if not stat.S_ISLNK(st.st_mode):
            move(p, ("opaque", "redirect", "whiteout"))
    move(root, ("opaque", "redirect"))  # the root itself


# ---- random scripts ----------------------------------------------------------

NAMES = ["a", "b", "c", "f1", "f2", "hl1", "hl2", "sym", "d1", "d2", "d3",
         "opq", "empty", "deep", "new", "x", "y"]
SUBS = ["", "d1/", "d2/", "d3/", "opq/", "d1/sub/", "new/", "deep/a/b/"]


# Runs of the kernel recorded as real root (record-kernel.sh) to compare
# with hutch-overlay as root of a user namespace leave out what differs
# between those two roots and not between the overlays: user.overlay.*
# xattrs (escaped to the upper under userxattr, ordinary names to the
# kernel as real root), chown (ids unmapped in the single mapping) and
# set-id modes (kept or cleared by privileges beyond the namespace).
AS_ROOT = bool(os.environ.get("FSOPS_ROOT_RECORD"))
XNAMES = ["k", "m"] if AS_ROOT else ["k", "m", "overlay.opaque", "overlay.x"]
XRM = ["k", "m"] if AS_ROOT else ["k", "m", "overlay.x"]
MODES = (["600", "644", "755", "1777"] if AS_ROOT else
         ["600", "644", "755", "4755", "1777", "2755"])


def gen_line(rnd, existing):
    dirs = [""] + [p + "/" for p in existing if os.path.isdir(p)
                   and not os.path.islink(p)] if existing else SUBS

    def path():
        if existing and rnd.random() < 0.7:
            return rnd.choice(existing)
        return rnd.choice(dirs) + rnd.choice(NAMES)

    def adir():
        return (rnd.choice(dirs) or "./").rstrip("/") or "."

    def data():
        return rnd.choice(["x", "hello", "0123456789" * rnd.randint(1, 50)])

    makers = [
        (6, lambda: "write %s %s" % (path(), data())),
        (4, lambda: "append %s %s" % (path(), data())),
        (3, lambda: "pwrite %s %d %s" % (path(), rnd.randint(0, 9000), data())),
        (4, lambda: "create %s %s" % (path(), rnd.choice(["644", "600", "755"]))),
        (5, lambda: "read %s" % path()),
        (3, lambda: "truncate %s %d" % (path(), rnd.choice([0, 3, 100, 5000]))),
        (3, lambda: "chmod %s %s" % (path(), rnd.choice(MODES))),
        (0 if AS_ROOT else 2, lambda: "chown %s %d %d" % (path(), rnd.choice([0, 0, 1000]), rnd.choice([0, 50, 1000]))),
        (2, lambda: "utime %s %d %d" % (path(), 1000000 + rnd.randint(0, 9), 2000000 + rnd.randint(0, 9))),
        (2, lambda: "statm %s" % path()),
        (4, lambda: "stat %s" % path()),
        (3, lambda: "link %s %s" % (path(), path())),
        (2, lambda: "symlink %s %s" % (rnd.choice(["a", "../b", "/etc/passwd", "d1"]), path())),
        (2, lambda: "readlink %s" % path()),
        (6, lambda: "rename %s %s" % (path(), path())),
        (2, lambda: "exchange %s %s" % (path(), path())),
        (2, lambda: "noreplace %s %s" % (path(), path())),
        (5, lambda: "unlink %s" % path()),
        (3, lambda: "rmdir %s" % path()),
        (4, lambda: "mkdir %s %s" % (path(), rnd.choice(["755", "700", "2775"]))),
        (1, lambda: "mkfifo %s" % path()),
        (3, lambda: "ls %s" % adir()),
        (3, lambda: "lsl %s" % adir()),
        (3, lambda: "setxattr %s user.%s v%d" % (path(), rnd.choice(XNAMES), rnd.randint(0, 9))),
        (2, lambda: "getxattr %s user.%s" % (path(), rnd.choice(XNAMES))),
        (2, lambda: "listxattr %s" % path()),
        (2, lambda: "rmxattr %s user.%s" % (path(), rnd.choice(XRM))),
        (1, lambda: "rmtree %s" % path()),
        (2, lambda: "makedirs %s" % (path() + "/" + rnd.choice(NAMES))),
    ]
    return rnd.choices([m for _, m in makers], [w for w, _ in makers])[0]()


def gen(seed, count):
    rnd = random.Random(int(seed))
    for _ in range(int(count)):
        print(gen_line(rnd, None))


def chasm(top):
    """400 levels of {L} under LAYER/chasm ("low" and "gone" at the bottom
    of l3, "top" at the bottom of l1, "mid" 200 levels down in l2), made
    relative to each level's descriptor (80 KiB from the root) in one
    process: a mkdir(1) per level costs seconds."""
    for layer, levels, files in (
            ("l3", 400, (("low", "low l3\n"), ("gone", "gone l3\n"))),
            ("l2", 200, (("mid", "mid l2\n"),)),
            ("l1", 400, (("top", "top l1\n"),))):
        fd = os.open(os.path.join(top, layer), os.O_RDONLY | os.O_DIRECTORY)
        for name in ["chasm"] + [LONG] * levels:
            os.mkdir(name, 0o755, dir_fd=fd)
            nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        for name, data in files:
            wfd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644,
                          dir_fd=fd)
            os.write(wfd, data.encode())
            if name == "low":
                os.setxattr(wfd, "user.k", b"chasm")
            os.close(wfd)
        os.close(fd)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd = sys.argv[1]
    if cmd == "run":
        run(sys.argv[2])
    elif cmd == "gen":
        gen(sys.argv[2], sys.argv[3])
    elif cmd == "fuzz":
        fuzz(*sys.argv[2:6])
    elif cmd == "tree":
        tree(sys.argv[2])
    elif cmd == "xlate":
        xlate(sys.argv[2], sys.argv[3])
    elif cmd == "markers":
        markers(sys.argv[2])
    elif cmd == "chasm":
        chasm(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
