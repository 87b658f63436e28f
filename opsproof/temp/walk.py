"""The temp-cleanup walk itself: standard library only, so it runs in-process or shipped to a target's python3.

It never leaves the root: every directory is opened relative to its parent's descriptor with
O_NOFOLLOW and checked to be the directory that was listed (a directory swapped for a symbolic
link in between is skipped), nothing on another filesystem or under a mount point is entered,
symbolic links are never followed nor removed, files with more than one hard link are kept (the
other name may be outside the root), and a file any process holds open (/proc/*/fd, by device and
inode: opsproof.hosts.procfd) is kept. Files are removed with unlinkat on the parent's descriptor
after a last check that the name still is the file that was judged. Empty directories are removed when their own mtime,
read before the walk changed it, is older than the cutoff.
"""
import fnmatch
import os
import re
import stat
import time

from ..hosts.procfd import open_files

FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
MAX_DEPTH = 256
LIST_MAX = 200


def mount_points():
    """Mount points from /proc/self/mountinfo (octal escapes decoded)."""
    points = set()
    try:
        with open("/proc/self/mountinfo") as fh:
            for line in fh:
                raw = line.split()[4]
                points.add(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), raw))
    except OSError:
        pass
    return points


class _Walk:
    def __init__(self, real_root, cutoff, now, apply, exclude, remove_empty, keep, opened, mounts, root_dev):
        self.real_root, self.cutoff, self.now, self.apply = real_root, cutoff, now, apply
        self.exclude, self.remove_empty, self.keep = exclude, remove_empty, keep
        self.opened, self.mounts, self.root_dev = opened, mounts, root_dev
        self.r = {"removed": [], "removed_count": 0, "bytes_freed": 0, "disk_bytes_freed": 0, "dirs_removed": [],
                  "kept_young": 0, "oldest_left_days": 0.0, "errors": [],
                  "skipped": {k: [] for k in ("symlink", "open", "hardlink", "other_fs", "swapped", "special",
                                              "excluded", "too_deep")}}

    def skip(self, why, rel):
        lst = self.r["skipped"][why]
        if len(lst) < LIST_MAX:
            lst.append(rel)

    def left(self, st):
        """A regular file that stays although old enough: counts towards oldest_left_days."""
        age = (self.now - st.st_mtime) / 86400
        self.r["oldest_left_days"] = max(self.r["oldest_left_days"], round(age, 3))

    def directory(self, dfd, rel, depth):
        """Clean one directory (an open descriptor); True when it is (or, planning, would be) empty."""
        try:
            names = os.listdir(dfd)
        except OSError as exc:
            self.r["errors"].append("%s: cannot list: %s" % (rel or ".", exc.strerror))
            return False
        remaining = 0
        for name in sorted(names):
            rel_p = rel + "/" + name if rel else name
            try:
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError as exc:
                self.r["errors"].append("%s: %s" % (rel_p, exc.strerror))
                remaining += 1
                continue
            if not self.entry(dfd, name, rel_p, st, depth):
                remaining += 1
        return remaining == 0

    def entry(self, dfd, name, rel_p, st, depth):
        """Handle one entry; True when it is gone (or, planning, would be)."""
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            self.skip("symlink", rel_p)
            return False
        if st.st_dev != self.root_dev or os.path.join(self.real_root, rel_p) in self.mounts:
            self.skip("other_fs", rel_p)
            return False
        if rel_p in self.keep:
            return False
        if stat.S_ISDIR(mode):
            return self.subdir(dfd, name, rel_p, st, depth)
        if not stat.S_ISREG(mode):
            self.skip("special", rel_p)
            return False
        if any(fnmatch.fnmatchcase(name, pat) for pat in self.exclude):
            self.skip("excluded", rel_p)
            return False
        if st.st_mtime >= self.cutoff:
            self.r["kept_young"] += 1
            self.left(st)
            return False
        if st.st_nlink > 1:
            self.skip("hardlink", rel_p)
            return False
        if (st.st_dev, st.st_ino) in self.opened:
            self.skip("open", rel_p)
            return False
        if self.apply:
            try:
                again = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(again.st_mode):
                    self.skip("swapped", rel_p)
                    return False
                os.unlink(name, dir_fd=dfd)
            except FileNotFoundError:
                return True
            except OSError as exc:
                self.r["errors"].append("%s: cannot remove: %s" % (rel_p, exc.strerror))
                self.left(st)
                return False
        else:
            self.left(st)  # planned: still there
        self.r["removed_count"] += 1
        self.r["bytes_freed"] += st.st_size
        self.r["disk_bytes_freed"] += st.st_blocks * 512
        if len(self.r["removed"]) < LIST_MAX:
            self.r["removed"].append(rel_p)
        return True

    def subdir(self, dfd, name, rel_p, st, depth):
        if depth >= MAX_DEPTH:
            self.skip("too_deep", rel_p)
            return False
        try:
            cfd = os.open(name, FLAGS, dir_fd=dfd)
        except FileNotFoundError:
            return True
        except OSError:
            self.skip("swapped", rel_p)  # ELOOP/ENOTDIR: no longer the directory that was listed
            return False
        try:
            now_st = os.fstat(cfd)
            if (now_st.st_dev, now_st.st_ino) != (st.st_dev, st.st_ino):
                self.skip("swapped", rel_p)
                return False
            empty = self.directory(cfd, rel_p, depth + 1)
        finally:
            os.close(cfd)
        if not (empty and self.remove_empty and st.st_mtime < self.cutoff):
            return False
        if self.apply:
            try:
                os.rmdir(name, dir_fd=dfd)  # rmdir never follows a link: a swapped name fails with ENOTDIR
            except OSError as exc:
                self.r["errors"].append("%s/: cannot remove: %s" % (rel_p, exc.strerror))
                return False
        if len(self.r["dirs_removed"]) < LIST_MAX:
            self.r["dirs_removed"].append(rel_p + "/")
        return True


def clean(root, max_age_s, apply, exclude=(), remove_empty=True, keep=(), now=None):
    """Remove (apply) or list (plan) regular files under `root` older than max_age_s; returns a JSON-ready dict.

    `keep`: paths relative to root never entered nor removed (opsproof's own work_dir, for one).
    """
    now = time.time() if now is None else now
    result = {"root": root, "apply": apply, "cutoff": now - max_age_s, "unreadable_processes": 0, "error": None}
    try:
        fd = os.open(root, FLAGS)
    except OSError as exc:
        why = "is a symbolic link: not followed" if os.path.islink(root) else exc.strerror
        result["error"] = "%s: %s" % (root, why)
        return result
    try:
        real_root = os.readlink("/proc/self/fd/%d" % fd) if os.path.exists("/proc/self/fd") else root
        opened, result["unreadable_processes"] = open_files()
        mounts = {m for m in mount_points() if m.startswith(real_root.rstrip("/") + "/")}
        walk = _Walk(real_root, now - max_age_s, now, apply, list(exclude), remove_empty, set(keep), opened, mounts,
                     os.fstat(fd).st_dev)
        walk.directory(fd, "", 0)
        result.update(walk.r)
    finally:
        os.close(fd)
    return result

