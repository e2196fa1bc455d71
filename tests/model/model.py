#!/usr/bin/env python3
"""model.py -- a randomized, model-checked test of a mounted azblobfs.

Why: the integration tests check the cases someone thought of. This driver
checks the ones nobody did, in the spirit of fsx and of reference-model
property testing: a seeded generator draws thousands of small operations
over a tiny namespace (so they collide: a rename over an open file, a cp of
a dirty file, a truncate spanning the 8 MiB block size, a remount in the
middle), runs each one on the mount and on a reference directory on a local
file system, and compares the two after every step (return values and
errno) and regularly as a whole (every path's type, size, sha256, mode, and
the directory listings). On the first divergence it prints the seed, the
step and both states, then shrinks the operation list by delta debugging
against fresh containers and prints a short reproducer that --replay runs.

Usage (normally through tests/model/t_model.sh, which mounts, answers the
control requests and passes the right options):

  model.py --mount MNT --ref DIR [--seed S] [--ops N] [--seconds S]
           [--compare-mode on|off] [--control stdio] [--settle remount|wait:S]
           [--replay FILE] [--shrink on|off] [--repro-dir DIR]
           [--weight OP=W ...] [--check-every N]

The control channel (--control stdio): the driver cannot mount, unmount or
reach the server itself, so it asks whoever started it, one line per
request on stdout, one answer line ("ok" or "error MESSAGE") on stdin:
  remount              unmount MNT and mount the same container again
  fresh                unmount, switch to a new empty container, mount it
  sdk put PATH FILE    another client uploads FILE as blob PATH
  sdk delete PATH      another client deletes blob PATH
  faults off|on        stop or resume injecting faults (answered "error"
                       where there is no fault injection)
Without it the operations that need these are never generated, and a
replay that holds one stops with an error. Everything human-readable goes
to stderr.

Exit status: 0 no divergence, 1 divergence (reproducer printed and saved),
2 usage or harness error, 3 an operation hung (the watchdog fired).

Only the Python standard library is used.
"""

import argparse
import errno
import hashlib
import json
import math
import mmap
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

MIB = 1024 * 1024
BLOCK = 8 * MIB  # azblobfs's default block_size: writes spanning it matter

# The namespace: few names, so that operations collide. Any name may become
# a file or a directory; mkdir prefers the names starting with d, s or t.
NAMES = [
    "a", "b", "c", "e",
    "d1", "d1/a", "d1/b", "d1/c", "d1/s", "d1/s/a", "d1/s/b", "d1/s/t",
    "d2", "d2/a", "d2/b", "d2/s", "d2/s/a",
    "d3", "d3/a", "d3/b",
]
DIRISH = [n for n in NAMES if n.rsplit("/", 1)[-1][0] in "dst"]
FILEISH = [n for n in NAMES if n not in DIRISH]
SLOTS = 6  # descriptors the model keeps open across steps, per side

OPEN_FLAGS = [  # (flags, weight)
    ("O_RDONLY", 3),
    ("O_RDWR", 4),
    ("O_WRONLY", 1),
    ("O_RDWR|O_CREAT", 4),
    ("O_WRONLY|O_CREAT|O_TRUNC", 3),
    ("O_RDWR|O_CREAT|O_TRUNC", 2),
    ("O_RDWR|O_CREAT|O_EXCL", 2),
    ("O_WRONLY|O_CREAT|O_EXCL", 1),
    ("O_WRONLY|O_CREAT|O_APPEND", 2),
    ("O_RDWR|O_APPEND", 1),
    ("O_RDONLY|O_CREAT", 2),
    ("O_WRONLY|O_TRUNC", 1),
]
MODES = ["0644", "0600", "0640", "0664", "0755", "0444", "0700"]

DEFAULT_WEIGHTS = {
    "open": 12, "close": 7, "write": 16, "read": 8, "truncate": 2,
    "ftruncate": 3, "mmap_read": 3, "mmap_write": 3, "fsync": 2,
    "rename": 5, "unlink": 4, "mkdir": 4, "rmdir": 2, "chmod": 2, "cp": 4,
    "stat": 4, "listdir": 3, "check": 2, "remount": 1, "sdk_put": 1,
    "sdk_del": 0.5,
}
CONTROL_OPS = {"remount", "sdk_put", "sdk_del"}

# POSIX lets rmdir and rename of a non-empty directory fail with either.
ERRNO_CLASS = {"ENOTEMPTY": "EEXIST|ENOTEMPTY", "EEXIST": "EEXIST|ENOTEMPTY"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def data_bytes(seed, n):
    """The n bytes an operation writes, reproducible from its seed."""
    return random.Random(seed).randbytes(n)


def sha12(b):
    return hashlib.sha256(b).hexdigest()[:12]


def flags_of(text):
    v = 0
    for f in text.split("|"):
        v |= getattr(os, f)
    return v


def err(e):
    if isinstance(e, OSError) and e.errno is not None:
        return ["err", errno.errorcode.get(e.errno, str(e.errno))]
    return ["err", type(e).__name__]


# what a mount answers once its daemon has died
DAEMON_GONE = {"ENOTCONN", "ECONNABORTED"}
DAEMON_GONE_TEXT = "the mount answers ENOTCONN/ECONNABORTED: its daemon died (see its log)"


def errnos(r):
    """The errno names anywhere in a result."""
    out = set()
    if isinstance(r, list):
        if len(r) == 2 and r[0] in ("err", "listdir", "lstat") and isinstance(r[1], str):
            out.add(r[1])
        for x in r:
            out |= errnos(x)
    elif isinstance(r, str) and r.startswith("read:"):
        out.add(r[5:])
    return out


def same_result(a, b):
    def norm(r):
        if isinstance(r, list):
            if len(r) == 2 and r[0] == "err":
                return ["err", ERRNO_CLASS.get(r[1], r[1])]
            return [norm(x) for x in r]
        return r
    return norm(a) == norm(b)


class HarnessError(Exception):
    """Something outside the file system under test went wrong."""


class Control:
    """The request/answer channel to the wrapper (see the module comment)."""

    def __init__(self, fin, fout):
        self.fin, self.fout = fin, fout

    def call(self, line):
        self.fout.write(line + "\n")
        self.fout.flush()
        ans = self.fin.readline()
        if not ans:
            raise HarnessError(f"control channel closed during '{line}'")
        ans = ans.rstrip("\n")
        return None if ans == "ok" else ans


class Side:
    """One of the two trees: the mount or the reference directory."""

    def __init__(self, name, root):
        self.name, self.root = name, root
        self.fds = {}    # slot -> descriptor
        self.flags = {}  # slot -> the open flags, as written in the op

    def path(self, rel):
        return os.path.join(self.root, rel) if rel else self.root

    def close_all(self):
        """Closes every slot; returns [slot, result] pairs (close can fail:
        azblobfs uploads in flush)."""
        out = []
        for slot in sorted(self.fds):
            out.append([slot, self.close(slot)])
        return out

    def close(self, slot):
        fd = self.fds.pop(slot)
        self.flags.pop(slot, None)
        try:
            os.close(fd)
            return ["ok"]
        except OSError as e:
            return err(e)


def in_child(fn):
    """Runs fn() in a forked child and returns its result: an mmap access
    past the data a file system really has kills with SIGBUS, and that
    must be a reported divergence, not the end of the driver."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            res = fn()
        except Exception as e:  # noqa: BLE001 - reported, not hidden
            res = err(e)
        os.write(w, json.dumps(res).encode())
        os._exit(0)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return ["signal", signal.Signals(os.WTERMSIG(status)).name]
    return json.loads(b"".join(chunks).decode())


def file_sha(path):
    h = hashlib.sha256()
    n = 0
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
    return h.hexdigest()[:16], n


def snapshot(root, with_mode):
    """path -> what the comparison looks at.

    Left out on purpose, because a blob store legitimately differs there:
    - times (mtime is stored as RFC 3339 metadata or Last-Modified, with
      another granularity, and atime/ctime do not exist on the server);
    - st_nlink, st_ino, st_blocks (FUSE's high-level API makes them up;
      azblobfs reports st_blocks from the size, so holes are not sparse);
    - a directory's st_size (tmpfs counts entries, the mount shows 0/4096);
    - uid/gid (everything runs as root on both sides).
    Directories are virtual on the server, but every directory here is
    made by mkdir through the mount (a marker blob) and the other client
    only writes into existing directories, so both sides must list the
    same directories, empty ones included.
    """
    out = {}

    def walk(rel):
        try:
            names = sorted(os.listdir(os.path.join(root, rel) if rel else root))
        except OSError as e:
            out[(rel or ".") + "/"] = ["listdir", err(e)[1]]
            return
        for n in names:
            r = f"{rel}/{n}" if rel else n
            full = os.path.join(root, r)
            try:
                st = os.lstat(full)
            except OSError as e:
                out[r] = ["lstat", err(e)[1]]
                continue
            mode = [oct(stat.S_IMODE(st.st_mode))] if with_mode else []
            if stat.S_ISDIR(st.st_mode):
                out[r] = ["dir"] + mode
                walk(r)
            elif stat.S_ISREG(st.st_mode):
                try:
                    digest, got = file_sha(full)
                except OSError as e:
                    out[r] = ["file", st.st_size, "read:" + err(e)[1]] + mode
                    continue
                # a read that returns fewer bytes than stat says is a
                # divergence of its own
                size = st.st_size if got == st.st_size else f"{st.st_size}(read {got})"
                out[r] = ["file", size, digest] + mode
            else:
                out[r] = ["other", stat.S_IFMT(st.st_mode)] + mode
    walk("")
    return out


def compare_snapshots(m, r):
    """Returns (categories, lines) describing every difference."""
    cats, lines = set(), []
    for p in sorted(set(m) | set(r)):
        a, b = m.get(p), r.get(p)
        if a == b:
            continue
        if a is None:
            cats.add("missing")
            lines.append(f"{p}: missing on the mount (reference: {b})")
        elif b is None:
            cats.add("extra")
            lines.append(f"{p}: only on the mount: {a}")
        elif a[0] != b[0]:
            cats.add("type")
            lines.append(f"{p}: type: mount {a}, reference {b}")
        else:
            if a[0] == "file":
                if a[1] != b[1]:
                    cats.add("size")
                if a[2] != b[2]:
                    cats.add("content")
            if a[-1] != b[-1] and str(a[-1]).startswith("0o"):
                cats.add("mode")
            if a[0] not in ("file", "dir"):
                cats.add("type")
            lines.append(f"{p}: mount {a}, reference {b}")
    return cats, lines


def first_difference(pm, pr):
    """Where the bytes of two files first differ (for the report)."""
    try:
        with open(pm, "rb") as a, open(pr, "rb") as b:
            off = 0
            while True:
                x, y = a.read(1 << 20), b.read(1 << 20)
                if x != y:
                    for i in range(min(len(x), len(y))):
                        if x[i] != y[i]:
                            return off + i
                    return off + min(len(x), len(y))
                if not x:
                    return None
                off += len(x)
    except OSError as e:
        return f"({e})"


class Divergence(Exception):
    def __init__(self, step, op, kind, cats, lines):
        super().__init__(f"step {step}: {kind}")
        self.step, self.op, self.kind, self.cats, self.lines = step, op, kind, cats, lines

    def signature(self):
        return self.kind, frozenset(self.cats)

    def matches(self, sig):
        """The same bug, as far as can be told: the same kind of step and
        every category of difference seen first (a smaller list that only
        shows another bug is no reproducer of this one)."""
        return self.kind == sig[0] and self.cats >= sig[1]


class Runner:
    """Runs operations on both sides and compares them."""

    def __init__(self, args, ctl):
        self.args, self.ctl = args, ctl
        self.m = Side("mount", args.mount)
        self.r = Side("reference", args.ref)
        self.ops_done = 0
        self.compares = 0
        self.results_compared = 0
        self.by_kind = {}
        self.tmp = args.work_dir
        self.settle = args.settle

    # --- state -------------------------------------------------------------
    def fresh(self, new_container):
        for s in (self.m, self.r):
            for slot in list(s.fds):
                s.close(slot)
        if new_container:
            self.control("fresh")
        if os.path.isdir(self.r.root):
            shutil.rmtree(self.r.root)
        os.makedirs(self.r.root)
        try:
            left = os.listdir(self.m.root)
        except OSError as e:
            raise HarnessError(f"the mount {self.m.root} cannot be listed: {e}") from e
        if left:
            raise HarnessError(f"the mount {self.m.root} is not empty: {left}")

    def control(self, line):
        if not self.ctl:
            raise HarnessError(f"'{line.split()[0]}' needs the control channel (run through t_model.sh)")
        ans = self.ctl.call(line)
        return ans

    def orphan_keeps_dir(self, rel, rm, rr):
        """The one documented difference of rmdir (tests/posix/LIMITS): a
        directory that lists empty but holds a file unlinked while open is
        ENOTEMPTY on the mount, which keeps the hidden name the file lives
        on (as NFS does), where a local file system removes it. Then the
        reference keeps the directory too, with the mount's mode."""
        if rm != ["err", "ENOTEMPTY"] or rr != ["ok"]:
            return False
        try:
            if os.listdir(self.m.path(rel)):
                return False
            mode = os.stat(self.m.path(rel)).st_mode & 0o7777
        except OSError:
            return False
        os.mkdir(self.r.path(rel))
        os.chmod(self.r.path(rel), mode)
        return True

    def orphan_keeps_target(self, op, rm, rr):
        """The same for rename of a directory over such a directory: the
        mount refuses (ENOTEMPTY), so the reference's rename is undone."""
        src, dst = op["src"], op["dst"]
        if rm != ["err", "ENOTEMPTY"] or rr != ["ok"]:
            return False
        try:
            if os.listdir(self.m.path(dst)) or not os.path.isdir(self.r.path(dst)):
                return False
            mode = os.stat(self.m.path(dst)).st_mode & 0o7777
        except OSError:
            return False
        os.rename(self.r.path(dst), self.r.path(src))
        os.mkdir(self.r.path(dst))
        os.chmod(self.r.path(dst), mode)
        return True

    # --- one step ----------------------------------------------------------
    def step(self, i, op):
        kind = op["op"]
        self.ops_done += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        if kind == "check":
            self.check(i, op)
            return
        if kind in ("remount", "closeall"):
            rm, rr = self.m.close_all(), self.r.close_all()
            if kind == "remount":
                ans = self.control("remount")
                if ans:
                    raise HarnessError(f"remount: {ans}")
        elif kind in ("sdk_put", "sdk_del"):
            rm, rr = self.sdk(op)
        else:
            rm, rr = self.apply(self.m, op), self.apply(self.r, op)
            if kind == "rmdir" and self.orphan_keeps_dir(op["path"], rm, rr):
                rr = rm
            elif kind == "rename" and self.orphan_keeps_target(op, rm, rr):
                rr = rm
        self.results_compared += 1
        if not same_result(rm, rr):
            lines = [f"mount:     {json.dumps(rm)}", f"reference: {json.dumps(rr)}"]
            em = errnos(rm)
            if em & DAEMON_GONE:
                raise Divergence(i, op, "crash", {"crash"}, lines + [DAEMON_GONE_TEXT])
            # the errors seen tell one bug from another while shrinking
            cats = {"result"} | {f"mount:{e}" for e in em} | {f"ref:{e}" for e in errnos(rr)}
            raise Divergence(i, op, kind, cats, lines)

    def check(self, i, op):
        self.compares += 1
        sm = snapshot(self.m.root, self.args.compare_mode)
        sr = snapshot(self.r.root, self.args.compare_mode)
        cats, lines = compare_snapshots(sm, sr)
        if errnos(list(sm.values())) & DAEMON_GONE:
            raise Divergence(i, op, "crash", {"crash"}, lines + [DAEMON_GONE_TEXT])
        if cats:
            for p in sorted(set(sm) & set(sr)):
                a, b = sm[p], sr[p]
                if a[0] == b[0] == "file" and a[2] != b[2]:
                    lines.append(f"{p}: bytes first differ at offset "
                                 f"{first_difference(self.m.path(p), self.r.path(p))}")
            raise Divergence(i, op, "check", cats, lines)

    def sdk_target_ok(self, rel, want_file):
        """The other client only writes where a POSIX tree could mirror it:
        into an existing directory (a blob store makes missing parents up,
        a local tree cannot), never over a directory, and never a file the
        model holds open (another writer's bytes on an open file are
        close-to-open territory, not something to compare)."""
        parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if parent and not os.path.isdir(self.r.path(parent)):
            return False
        try:
            st = os.lstat(self.r.path(rel))
        except FileNotFoundError:
            return not want_file
        if not stat.S_ISREG(st.st_mode):
            return False
        for fd in self.r.fds.values():
            fst = os.fstat(fd)
            if (fst.st_dev, fst.st_ino) == (st.st_dev, st.st_ino):
                return False
        return True

    def sdk(self, op):
        rel = op["path"]
        if not self.sdk_target_ok(rel, op["op"] == "sdk_del"):
            return ["skip"], ["skip"]
        if op["op"] == "sdk_put":
            data = data_bytes(op["data"], op["len"])
            with open(self.r.path(rel), "wb") as f:
                f.write(data)
            # a blob uploaded by another tool carries no mode: it shows 0644
            os.chmod(self.r.path(rel), 0o644)
            tmp = os.path.join(self.tmp, "sdk-put.bin")
            with open(tmp, "wb") as f:
                f.write(data)
            ans = self.control(f"sdk put {rel} {tmp}")
        else:
            os.unlink(self.r.path(rel))
            ans = self.control(f"sdk delete {rel}")
        if ans:
            return ["sdk", ans], ["ok"]
        # the mount sees another client's change once its caches expire;
        # see --settle
        if self.settle == "remount":
            cm, cr = self.m.close_all(), self.r.close_all()
            ans = self.control("remount")
            if ans:
                raise HarnessError(f"remount: {ans}")
            return ["ok", cm], ["ok", cr]
        time.sleep(float(self.settle.split(":", 1)[1]))
        return ["ok"], ["ok"]

    def apply(self, s, op):
        kind = op["op"]
        try:
            if kind == "open":
                out = []
                if op["slot"] in s.fds:
                    out.append(s.close(op["slot"]))
                fd = os.open(s.path(op["path"]), flags_of(op["flags"]), int(op.get("mode", "0644"), 8))
                s.fds[op["slot"]] = fd
                s.flags[op["slot"]] = op["flags"]
                return out + [["ok"]]
            if kind in ("unlink", "rmdir", "mkdir", "chmod", "truncate", "rename",
                        "stat", "listdir", "cp"):
                return self.path_op(s, op)
            # the rest works on a descriptor; an empty slot (an open dropped
            # while shrinking) makes it a no-op on both sides
            if op["slot"] not in s.fds:
                return ["skip"]
            fd = s.fds[op["slot"]]
            if kind == "close":
                return s.close(op["slot"])
            if kind == "write":
                return ["ok", os.pwrite(fd, data_bytes(op["data"], op["len"]), op["off"])]
            if kind == "read":
                b = os.pread(fd, op["len"], op["off"])
                return ["ok", len(b), sha12(b)]
            if kind == "ftruncate":
                os.ftruncate(fd, op["size"])
                return ["ok"]
            if kind == "fsync":
                os.fsync(fd)
                return ["ok"]
            if kind in ("mmap_read", "mmap_write"):
                return in_child(lambda: mmap_op(fd, op))
        except OSError as e:
            return err(e)
        raise HarnessError(f"unknown operation {kind}")

    def path_op(self, s, op):
        kind, p = op["op"], s.path(op.get("path", ""))
        if kind == "unlink":
            os.unlink(p)
        elif kind == "rmdir":
            os.rmdir(p)
        elif kind == "mkdir":
            os.mkdir(p, int(op["mode"], 8))
        elif kind == "chmod":
            os.chmod(p, int(op["mode"], 8))
        elif kind == "truncate":
            os.truncate(p, op["size"])
        elif kind == "rename":
            os.rename(s.path(op["src"]), s.path(op["dst"]))
        elif kind == "stat":
            st = os.stat(p)
            if stat.S_ISDIR(st.st_mode):
                r = ["ok", "dir"]
            elif stat.S_ISREG(st.st_mode):
                r = ["ok", "file", st.st_size]
            else:
                r = ["ok", "other"]
            if self.args.compare_mode:
                r.append(oct(stat.S_IMODE(st.st_mode)))
            return r
        elif kind == "listdir":
            return ["ok", sorted(os.listdir(p))]
        elif kind == "cp":
            # coreutils cp: azblobfs turns it into a server-side Copy Blob
            c = subprocess.run(["cp", s.path(op["src"]), s.path(op["dst"])], cwd="/",
                               stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               check=False)
            return ["cp", c.returncode, c.stderr.replace(s.root, "ROOT").strip()]
        return ["ok"]


def mmap_op(fd, op):
    """An mmap read or write of a range clamped into the file's current
    size (mapping past the end is not a question about the file system)."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        return ["notreg"]
    size = st.st_size
    if size == 0:
        return ["empty"]
    off = op["off"] % size
    n = min(op["len"], size - off)
    if op["op"] == "mmap_read":
        with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ) as m:
            b = m[off:off + n]
        return ["ok", size, off, sha12(b)]
    with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) as m:
        m[off:off + n] = data_bytes(op["data"], n)
        m.flush()  # msync(MS_SYNC)
    return ["ok", size, off, n]


class Generator:
    """Draws the next operation from the seed and the reference state only
    (never from the mount), so a seed and an operation count reproduce a
    run exactly."""

    def __init__(self, rng, runner, args):
        self.rng, self.run, self.args = rng, runner, args
        self.weights = dict(DEFAULT_WEIGHTS)
        if not runner.ctl:
            for k in CONTROL_OPS:
                self.weights[k] = 0
        for w in args.weight:
            k, v = w.split("=", 1)
            if k not in self.weights:
                raise SystemExit(f"model.py: unknown operation in --weight {w}")
            self.weights[k] = float(v)
        self.n = 0
        self.max_file = args.max_file_mib * MIB
        self.max_total = args.max_total_mib * MIB

    # --- reference state ---------------------------------------------------
    def state(self):
        files, dirs = {}, set()
        for rel in NAMES:
            try:
                st = os.lstat(self.run.r.path(rel))
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                dirs.add(rel)
            else:
                files[rel] = st.st_size
        return files, dirs

    def slot_size(self, slot):
        try:
            return os.fstat(self.run.r.fds[slot]).st_size
        except (KeyError, OSError):
            return 0

    def pick(self, seq):
        return self.rng.choice(sorted(seq))

    def name_with_parent(self, pool, dirs):
        ok = [n for n in pool if "/" not in n or n.rsplit("/", 1)[0] in dirs]
        return self.pick(ok or pool)

    def any_file(self, files, dirs, p_exist=0.85):
        if files and self.rng.random() < p_exist:
            return self.pick(files)
        return self.name_with_parent(FILEISH if self.rng.random() < 0.8 else NAMES, dirs)

    # --- sizes -------------------------------------------------------------
    def length(self):
        x = self.rng.random()
        if x < 0.55:
            return self.rng.randint(1, 4096)
        if x < 0.85:
            return self.rng.randint(4097, 256 * 1024)
        return self.rng.randint(256 * 1024, 3 * MIB)

    def offset(self, size, length):
        x = self.rng.random()
        if x < 0.45:
            off = self.rng.randint(0, size)
        elif x < 0.65:
            off = size
        elif x < 0.85:
            off = size + self.rng.randint(1, MIB)  # past the end: a hole
        else:
            # across the block boundary
            off = max(0, BLOCK - self.rng.randint(1, max(1, length)))
        return off

    def new_size(self, size):
        x = self.rng.random()
        if x < 0.25:
            return 0
        if x < 0.55 and size > 0:
            return self.rng.randint(0, size - 1)
        if x < 0.85:
            return size + self.rng.randint(1, 2 * MIB)
        return BLOCK + self.rng.randint(-4096, 4096)

    def trunc_size(self, size, total):
        if total > self.max_total:
            return self.rng.randint(0, size)
        return min(self.new_size(size), self.max_file)

    # --- the next operation --------------------------------------------------
    def next(self):
        self.n += 1
        if self.args.check_every and self.n % self.args.check_every == 0:
            return {"op": "check"}
        while True:
            kinds = sorted(k for k, w in self.weights.items() if w > 0)
            kind = self.rng.choices(kinds, [self.weights[k] for k in kinds])[0]
            op = self.make(kind)
            if op is not None:
                return op

    def make(self, kind):
        rng = self.rng
        files, dirs = self.state()
        total = sum(files.values())
        open_slots = sorted(self.run.r.fds)
        free_slots = [s for s in range(SLOTS) if s not in self.run.r.fds]
        if kind == "open":
            slot = self.pick(free_slots) if free_slots and rng.random() < 0.9 else rng.randrange(SLOTS)
            flags = rng.choices([f for f, _ in OPEN_FLAGS], [w for _, w in OPEN_FLAGS])[0]
            path = self.any_file(files, dirs, 0.5 if "O_CREAT" in flags else 0.9)
            if rng.random() < 0.03:
                path = self.pick(NAMES)  # a directory now and then: EISDIR
            op = {"op": "open", "slot": slot, "path": path, "flags": flags}
            if "O_CREAT" in flags:
                op["mode"] = rng.choice(MODES)
            return op
        if kind in ("close", "fsync", "read", "write", "ftruncate", "mmap_read", "mmap_write"):
            if not open_slots:
                return None
            slot = self.pick(open_slots)
            size = self.slot_size(slot)
            if kind in ("close", "fsync"):
                return {"op": kind, "slot": slot}
            if kind == "read":
                n = self.length()
                return {"op": "read", "slot": slot, "off": self.offset(size, n), "len": n}
            if kind == "ftruncate":
                return {"op": "ftruncate", "slot": slot, "size": self.trunc_size(size, total)}
            if kind == "mmap_read":
                return {"op": kind, "slot": slot, "off": rng.randint(0, max(0, size - 1)),
                        "len": self.length()}
            n = self.length()
            if kind == "mmap_write":
                return {"op": kind, "slot": slot, "off": rng.randint(0, max(0, size - 1)),
                        "len": n, "data": rng.randrange(1 << 31)}
            if total > self.max_total:
                n = min(n, 4096)
            off = min(self.offset(size, n), self.max_file - 1)
            n = max(1, min(n, self.max_file - off))
            return {"op": "write", "slot": slot, "off": off, "len": n, "data": rng.randrange(1 << 31)}
        if kind == "truncate":
            path = self.any_file(files, dirs)
            return {"op": "truncate", "path": path, "size": self.trunc_size(files.get(path, 0), total)}
        if kind == "rename":
            if rng.random() < 0.35 and dirs:
                src = self.pick(dirs)
                dst = self.name_with_parent(DIRISH if rng.random() < 0.8 else NAMES, dirs)
            else:
                src = self.any_file(files, dirs, 0.9)
                dst = self.any_file(files, dirs, 0.4)
            return {"op": "rename", "src": src, "dst": dst}
        if kind == "unlink":
            return {"op": "unlink", "path": self.any_file(files, dirs, 0.9)}
        if kind == "mkdir":
            return {"op": "mkdir", "path": self.name_with_parent(DIRISH if rng.random() < 0.85 else NAMES, dirs),
                    "mode": rng.choice(["0755", "0755", "0700", "0775"])}
        if kind == "rmdir":
            path = self.pick(dirs) if dirs and rng.random() < 0.85 else self.pick(NAMES)
            return {"op": "rmdir", "path": path}
        if kind == "chmod":
            return {"op": "chmod", "path": self.pick(NAMES) if rng.random() < 0.2 else self.any_file(files, dirs),
                    "mode": rng.choice(MODES)}
        if kind == "cp":
            if total > self.max_total:
                return None
            src = self.any_file(files, dirs, 0.95)
            dst = self.any_file(files, dirs, 0.4) if rng.random() < 0.85 else self.pick(dirs or NAMES)
            return {"op": "cp", "src": src, "dst": dst}
        if kind == "stat":
            return {"op": "stat", "path": self.pick(NAMES)}
        if kind == "listdir":
            return {"op": "listdir", "path": self.pick(dirs) if dirs and rng.random() < 0.8 else ""}
        if kind == "check":
            return {"op": "check"}
        if kind == "remount":
            return {"op": "remount"}
        if kind == "sdk_put":
            n = self.length() if total < self.max_total else rng.randint(0, 4096)
            if rng.random() < 0.1:
                n = 0
            return {"op": "sdk_put", "path": self.any_file(files, dirs, 0.6), "len": n,
                    "data": rng.randrange(1 << 31)}
        if kind == "sdk_del":
            return {"op": "sdk_del", "path": self.any_file(files, dirs, 0.95)} if files else None
        raise HarnessError(f"no generator for {kind}")


class Watchdog:
    """A hung FUSE call would hang the test forever: after --op-timeout
    seconds in one operation, report it and exit 3 (the wrapper then
    unmounts with force)."""

    def __init__(self, limit):
        self.limit, self.started, self.what = limit, None, None
        if limit > 0:
            threading.Thread(target=self.loop, daemon=True).start()

    def begin(self, what):
        self.what, self.started = what, time.monotonic()

    def end(self):
        self.started = None

    def loop(self):
        while True:
            time.sleep(1)
            t = self.started
            if t is not None and time.monotonic() - t > self.limit:
                log(f"model: HUNG: no answer after {self.limit} s in {self.what}")
                os._exit(3)


def describe_state(runner):
    sm = snapshot(runner.m.root, runner.args.compare_mode)
    sr = snapshot(runner.r.root, runner.args.compare_mode)
    lines = [f"  {'path':<10} {'mount':<40} reference"]
    for p in sorted(set(sm) | set(sr)):
        a = " ".join(map(str, sm.get(p, ["-"])))
        b = " ".join(map(str, sr.get(p, ["-"])))
        lines.append(f"  {p:<10} {a:<40} {b}{'' if a == b else '   <-- differs'}")
    for s in (runner.m, runner.r):
        if s.fds:
            lines.append(f"  open on the {s.name}: " +
                         ", ".join(f"slot {k} {s.flags[k]}" for k in sorted(s.fds)))
    return "\n".join(lines)


def run_list(runner, ops, wd, new_container):
    """Runs ops from a fresh state, then closes everything and compares;
    returns the Divergence or None."""
    wd.begin("making a fresh container and mount")
    runner.fresh(new_container)
    wd.end()
    try:
        for i, op in enumerate(ops):
            wd.begin(f"step {i}: {json.dumps(op)}")
            runner.step(i, op)
            wd.end()
        wd.begin("the final close and compare")
        runner.step(len(ops), {"op": "closeall"})
        runner.step(len(ops), {"op": "check"})
        wd.end()
    except Divergence as d:
        wd.end()
        return d
    return None


def shrink(runner, ops, sig, wd, args):
    """Delta debugging (drop chunks, halving their size, down to single
    operations) then smaller sizes, each candidate run from a new empty
    container; a candidate counts if it diverges the same way (same kind of
    step, every category of the first difference). Bounded by --shrink-trials and
    --shrink-seconds."""
    deadline = time.monotonic() + args.shrink_seconds
    trials = [0]

    def fails(cand):
        if trials[0] >= args.shrink_trials or time.monotonic() > deadline:
            return False
        trials[0] += 1
        d = run_list(runner, cand, wd, True)
        return d is not None and d.matches(sig)

    n = 2
    while len(ops) >= 2 and trials[0] < args.shrink_trials and time.monotonic() < deadline:
        chunk = math.ceil(len(ops) / n)
        reduced = False
        for start in range(0, len(ops), chunk):
            cand = ops[:start] + ops[start + chunk:]
            if fails(cand):
                ops, n, reduced = cand, max(n - 1, 2), True
                log(f"model: shrink: {len(ops)} operations still diverge ({trials[0]} trials)")
                break
        if not reduced:
            if n >= len(ops):
                break
            n = min(n * 2, len(ops))
    # smaller numbers: lengths, sizes, offsets (the least first, then
    # halving while it still diverges)
    for i in range(len(ops)):
        for key in ("len", "size", "off"):
            least = 1 if key == "len" else 0
            while isinstance(ops[i].get(key), int) and ops[i][key] > least:
                v = ops[i][key]
                for smaller in sorted({least, v // 2}):
                    cand = [dict(o) for o in ops]
                    cand[i][key] = smaller
                    if fails(cand):
                        ops = cand
                        break
                else:
                    break
    return ops, trials[0]


def write_repro(args, ops, header, stem="model-repro"):
    os.makedirs(args.repro_dir, exist_ok=True)
    path = os.path.join(os.path.abspath(args.repro_dir), f"{stem}-{args.seed}.ops")
    with open(path, "w") as f:
        for h in header:
            f.write(f"# {h}\n")
        for op in ops:
            f.write(json.dumps(op) + "\n")
    return path


def load_ops(path):
    ops = []
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                op = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"model.py: {path}:{ln}: not JSON: {e}") from e
            if not isinstance(op, dict) or "op" not in op:
                raise SystemExit(f"model.py: {path}:{ln}: not an operation")
            ops.append(op)
    return ops


def parse_args(argv):
    p = argparse.ArgumentParser(description="Randomized model-checked test of an azblobfs mount.")
    p.add_argument("--mount", required=True, help="the mounted azblobfs (must start empty)")
    p.add_argument("--ref", required=True, help="reference directory on a local file system (emptied)")
    p.add_argument("--work-dir", help="scratch directory [the parent of --ref]")
    p.add_argument("--seed", type=int, help="random seed [random, printed]")
    p.add_argument("--ops", type=int, default=300, help="operations to generate [300]")
    p.add_argument("--seconds", type=float, default=0, help="stop generating after this long [no limit]")
    p.add_argument("--check-every", type=int, default=25, help="a whole-state compare every N steps [25]")
    p.add_argument("--compare-mode", choices=["on", "off"], default="on",
                   help="compare permission bits [on]")
    p.add_argument("--control", choices=["stdio", "none"], default="none",
                   help="requests to the wrapper on stdout, answers on stdin [none]")
    p.add_argument("--settle", default="remount",
                   help="after another client's write: 'remount' the mount, or 'wait:S' seconds "
                        "(attr_timeout plus a margin) [remount]")
    p.add_argument("--replay", help="run the operations in FILE instead of generating")
    p.add_argument("--shrink", choices=["on", "off"], default="on", help="shrink a divergence [on]")
    p.add_argument("--shrink-trials", type=int, default=200)
    p.add_argument("--shrink-seconds", type=float, default=600)
    p.add_argument("--repro-dir", default=".", help="where model-repro-SEED.ops is written [.]")
    p.add_argument("--replay-hint", default="bash tests/model/t_model.sh --replay",
                   help="the command a reproducer's header tells to run it with")
    p.add_argument("--weight", action="append", default=[], metavar="OP=W",
                   help="change an operation's weight (0 disables it)")
    p.add_argument("--max-file-mib", type=int, default=20)
    p.add_argument("--max-total-mib", type=int, default=48)
    p.add_argument("--op-timeout", type=float, default=300, help="watchdog per operation, s [300]")
    a = p.parse_args(argv)
    a.compare_mode = a.compare_mode == "on"
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1, 1 << 31)
    if a.settle != "remount":
        try:
            if not a.settle.startswith("wait:") or float(a.settle[5:]) < 0:
                raise ValueError
        except ValueError:
            p.error(f"--settle {a.settle}: expected 'remount' or 'wait:SECONDS'")
    if a.work_dir is None:
        a.work_dir = os.path.dirname(os.path.abspath(a.ref))
    return a


def main(argv):
    args = parse_args(argv)
    ctl = None
    if args.control == "stdio":
        ctl = Control(sys.stdin, sys.stdout)
        sys.stdout = sys.stderr  # nothing else may write to the channel
    if not os.path.ismount(args.mount):
        log(f"model.py: {args.mount} is not a mount point")
        return 2
    os.chdir("/")
    runner = Runner(args, ctl)
    wd = Watchdog(args.op_timeout)
    mode = "on" if args.compare_mode else "off"
    log(f"model: seed {args.seed}, mode comparison {mode}, settle {args.settle}")
    t0 = time.monotonic()
    ops = []
    try:
        if args.replay:
            ops = load_ops(args.replay)
            log(f"model: replaying {len(ops)} operations from {args.replay}")
            d = run_list(runner, ops, wd, False)
        else:
            runner.fresh(False)
            gen = Generator(random.Random(args.seed), runner, args)
            d = None
            try:
                while len(ops) < args.ops and not (args.seconds and time.monotonic() - t0 > args.seconds):
                    op = gen.next()
                    ops.append(op)
                    wd.begin(f"step {len(ops) - 1}: {json.dumps(op)}")
                    runner.step(len(ops) - 1, op)
                    wd.end()
                    if len(ops) % 100 == 0:
                        log(f"model: {len(ops)} operations, {runner.compares} compares, "
                            f"{time.monotonic() - t0:.0f} s")
                wd.begin("the final close and compare")
                runner.step(len(ops), {"op": "closeall"})
                runner.step(len(ops), {"op": "check"})
                wd.end()
            except Divergence as e:
                wd.end()
                d = e
    except HarnessError as e:
        log(f"model.py: harness error: {e}")
        return 2
    summary = (f"model: {runner.ops_done} operations, {runner.compares} compares, seed {args.seed}"
               f" ({runner.results_compared} results compared, {time.monotonic() - t0:.0f} s)")
    if d is None:
        log("model: by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(runner.by_kind.items())))
        log(summary)
        return 0

    failing = ops[:d.step + 1] if d.step < len(ops) else ops
    log(f"model: DIVERGENCE at step {d.step} of seed {args.seed}: {json.dumps(d.op)}")
    for line in d.lines:
        log(f"  {line}")
    log("model: both states (path, then type size sha256 [mode]):")
    log(describe_state(runner))
    log(summary)
    header = [f"azblobfs model: divergence at step {d.step} ({d.kind}: {', '.join(sorted(d.cats))}), "
              f"seed {args.seed}, {len(failing)} operations",
              f"run: {args.replay_hint} FILE"]
    full = write_repro(args, failing, header, "model-ops")
    log(f"model: the unshrunk operation list is in {full}")
    if args.shrink == "on" and ctl:
        log(f"model: shrinking {len(failing)} operations")
        try:
            again = None
            # with injected faults every run differs and takes long: a
            # divergence that needs no fault shrinks without them
            if runner.control("faults off") is None:
                again = run_list(runner, failing, wd, True)
                if again is not None and again.matches(d.signature()):
                    log("model: it diverges without injected faults too: shrinking without them")
                    header[1] = f"run: MODEL_CHAOS_RATE=0 {args.replay_hint} FILE"
                else:
                    again = None
                    if runner.control("faults on") is not None:
                        raise HarnessError("cannot turn the injected faults on again")
            if again is None:
                again = run_list(runner, failing, wd, True)
            if again is None or not again.matches(d.signature()):
                log("model: the operation list does not diverge again from a fresh container "
                    "(timing-dependent?); printing it unshrunk")
            else:
                small, trials = shrink(runner, failing, d.signature(), wd, args)
                last, hits = None, 0
                for _ in range(3):
                    d2 = run_list(runner, small, wd, True)
                    if d2 is not None and d2.matches(d.signature()):
                        last, hits = last or d2, hits + 1
                log(f"model: shrunk to {len(small)} operations in {trials} trials; "
                    f"they diverged in {hits} of 3 more runs")
                if last is not None:
                    for line in last.lines:
                        log(f"  {line}")
                    header[0] = (f"azblobfs model: {len(small)} operations shrunk from {len(failing)} "
                                 f"(seed {args.seed}); diverges at step {last.step} "
                                 f"({last.kind}: {', '.join(sorted(last.cats))})")
                failing = small
        except HarnessError as e:
            log(f"model.py: harness error while shrinking: {e}")
    path = write_repro(args, failing, header)
    log(f"model: reproducer ({len(failing)} operations) saved as {path}:")
    for op in failing:
        log(f"  {json.dumps(op)}")
    log(summary)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
