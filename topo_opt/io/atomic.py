"""Atomic file output: write to a temporary file in the same folder, then rename.

A failure half-way (bad input found late, disk full, Ctrl-C) never leaves a partial file.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def atomic_write(path: str | Path, write: Callable[[str], None], suffix: str | None = None) -> None:
    """Call ``write(tmp)`` on a temporary file in ``path``'s folder, then rename it to ``path``.

    The temporary name ends in ``suffix`` (default: ``path``'s own, so that writers which pick
    the format from it, like matplotlib's ``savefig``, see the right one); the file gets the
    permissions a plain write would give.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix if suffix is None else suffix,
                                dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode)  # mkstemp creates 0600; give the file the permissions a plain write would
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8", newline="\n"), suffix=".tmp")


PLOT_SUFFIXES = (".png", ".pdf", ".svg")
"""Formats of the ``--plot`` files (matplotlib writes them without extra packages)."""


def check_output_path(path: str | Path, suffixes: tuple[str, ...] | None, option: str) -> Path:
    """``path`` as a :class:`Path` once it is known to be writable, before any work starts.

    Checks that the name ends in one of ``suffixes`` (case-insensitive; None: any), that it is
    not a folder, and that its folder exists (or can be created) and takes new files: a
    temporary file is created there and removed again, which also catches read-only file
    systems and permissions that ``os.access`` misjudges.

    Parameters
    ----------
    path : path-like
    suffixes : tuple of str or None
        Allowed endings with their dot, e.g. ``(".csv", ".json")``.
    option : str
        The option named in the message, e.g. ``"--out"``.

    Raises
    ------
    InvalidInputError
        One line naming the option, the path and what is wrong.
    """
    from topo_opt.errors import InvalidInputError

    path = Path(path)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise InvalidInputError(f"{option} {path}: the file name must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise InvalidInputError(f"{option} {path}: is a folder, expected a file name")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # atomic_write creates the missing folders below it
    if not folder.is_dir():
        raise InvalidInputError(f"{option} {path}: {folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise InvalidInputError(f"{option} {path}: cannot write in {folder}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)
    return path
