"""Atomic file writes shared by model files, n-gram models and the command line's outputs, and the
checks of paths before use (an output writable, an input a regular file).

A file is written to a temporary file beside its target, flushed and fsynced, then renamed over
the target: a reader sees the old file or the new one, never a part. The temporary file is named
``.<target name>.<pid>.<random>.treeforge-tmp``. A process killed between its creation and the
rename (SIGKILL, power loss) leaves it behind; the next successful write of the same target
removes such files whose process is no longer running (those of a live process, which may be
writing the same target right now, are kept).

Writing to a symbolic link replaces the file the link points to, and the link stays a link.
Errors name the target path, never the temporary file.
"""

import contextlib
import os
import re
import stat
import tempfile

TEMP_SUFFIX = ".treeforge-tmp"
# What a path that is not a regular file is, as error messages name it.
_FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _target_of(path):
    """The path a write to ``path`` replaces: symbolic links followed (a dangling one to its target)."""
    return os.path.realpath(os.fspath(path))


def _naming_target(exc, path):
    """``exc`` (an OSError) re-made to name ``path`` instead of a temporary file."""
    if exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), os.fspath(path))


def _orphan_pattern(name):
    return re.compile(r"\." + re.escape(name) + r"\.(\d+)\.[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX))


def _is_running(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except (OverflowError, OSError):  # a number that cannot be a process
        return False
    return True


def remove_orphans(path):
    """Remove the temporary files that interrupted writes of ``path`` left behind (see the module doc);
    returns their paths."""
    directory, name = os.path.split(_target_of(path))
    pattern = _orphan_pattern(name)
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.listdir(directory):
            match = pattern.fullmatch(entry)
            if match and not _is_running(int(match[1])):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, entry))
                    removed.append(os.path.join(directory, entry))
    return removed


def _temporary_file(path, target):
    directory, name = os.path.split(target)
    try:
        return tempfile.mkstemp(prefix=f".{name}.{os.getpid()}.", suffix=TEMP_SUFFIX, dir=directory)
    except OSError as exc:
        raise _naming_target(exc, path) from None


def check_writable(path):
    """Raise OSError naming ``path`` if a file cannot be written there (its directory is missing or not
    writable, or ``path`` is a directory); writes nothing that stays."""
    target = _target_of(path)
    if os.path.isdir(target):
        raise IsADirectoryError(21, os.strerror(21), os.fspath(path))
    fd, temp_path = _temporary_file(path, target)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(temp_path)


def check_regular_file(path):
    """Raise ValueError naming ``path`` unless it is a regular file (symbolic links followed), and
    OSError if it cannot be looked up (FileNotFoundError, ...).

    Looked up without opening it, so call it before opening a file to read: opening a FIFO for
    reading blocks until a writer comes, a device such as /dev/zero never ends.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        kind = next((name for is_kind, name in _FILE_KINDS if is_kind(mode)), "not a file")
        raise ValueError(f"{os.fspath(path)} is {kind}, not a regular file")


def atomic_write(path, write, text=False):
    """Write a file atomically: ``write(handle)`` fills a temporary file that then replaces ``path``.

    The new file keeps the permission bits of the file it replaces (0o644 for a new file). On any
    error the temporary file is removed and ``path`` is left untouched; after success, orphans of
    earlier interrupted writes of ``path`` are removed. ``text`` opens the handle as UTF-8 text.
    """
    target = _target_of(path)
    try:
        mode = os.stat(target).st_mode & 0o777
    except OSError:
        mode = 0o644
    fd, temp_path = _temporary_file(path, target)
    try:
        with os.fdopen(fd, "w" if text else "wb", **({"encoding": "utf-8"} if text else {})) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_path, mode)
        os.replace(temp_path, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp_path)
        if isinstance(exc, OSError) and exc.filename in (None, temp_path, target):
            raise _naming_target(exc, path) from exc
        raise
    _fsync_directory(os.path.dirname(target))
    remove_orphans(target)


def _fsync_directory(directory):
    """Persist the rename itself (POSIX); best effort elsewhere."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
