"""The hub's files are its owner's alone: 0600 files under 0700 folders, whatever the umask.

Landing batches, the SQLite store (and its -wal/-shm, which SQLite creates with the store's mode),
Data Docs and exports can all hold personal data; a default umask of 022 would leave them readable
by every local user. ``private_process`` sets the umask once per hub process (CLI, API, Airflow task),
and the writers chmod what they create, so a file copied in or made by a library is private too.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE, DIR_MODE = 0o600, 0o700
UMASK = 0o077


def private_process() -> None:
    """Every file this process creates from now on is private (the library's default, not a hope)."""
    os.umask(UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; an existing folder is narrowed to 0700."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    path.mkdir(parents=True, exist_ok=True)
    for d in [*missing, path]:
        os.chmod(d, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Narrow an existing file to 0600."""
    os.chmod(path, FILE_MODE)
    return path


def open_private(path: Path, mode: str = "w", **kwargs):  # type: ignore[no-untyped-def]
    """Open for writing with 0600 from the first byte (no window in which others may read)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # an existing file keeps its mode through O_CREAT: narrow it
    return os.fdopen(fd, mode, **kwargs)


def private_tree(root: Path) -> None:
    """Narrow every folder and file under ``root`` (what a library wrote with its own modes)."""
    if not root.exists():
        return
    os.chmod(root, DIR_MODE if root.is_dir() else FILE_MODE)
    for folder, dirs, files in os.walk(root):
        for d in dirs:
            os.chmod(os.path.join(folder, d), DIR_MODE)
        for f in files:
            full = os.path.join(folder, f)
            if not os.path.islink(full):
                os.chmod(full, FILE_MODE)


def readable_by_others(path: Path) -> bool:
    return bool(path.stat().st_mode & 0o077)
