"""Files shipped inside the package: model cards, device power profiles and ready-to-run instances.

The package data is the repository's own ``models/`` and ``instances/`` folders, never a second
copy: in the source tree ``topo_opt/models`` and ``topo_opt/instances`` are symbolic links to
them, and building a wheel copies the files they point at (``[tool.setuptools.package-data]``
in ``pyproject.toml``; ``tests/test_wheel.py`` checks the wheel holds real files equal to
``models/`` and runs every card from it). They are read with :mod:`importlib.resources`, so
an installed wheel, an editable install and ``PYTHONPATH=<clone>`` all find them.

A user names a bundled file by its stem (``min-delay``, ``core-router``, ``abilene``) or gives
a path; an existing path always wins over a bundled name.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from topo_opt.errors import InvalidInputError

#: kind -> (folder inside the package, file suffix, what the files are called in messages)
KINDS = {
    "card": ("models", ".toml", "model card"),
    "power": ("models/power", ".toml", "power profile"),
    "instance": ("instances", ".json", "instance"),
}


def bundled_dir(kind: str) -> Path:
    """The package folder holding the bundled files of ``kind`` (``card``, ``power``, ``instance``)."""
    folder, _, _ = KINDS[kind]
    # pip installs packages as plain files, so the resource root is a real folder
    return Path(str(files("topo_opt").joinpath(folder)))


def bundled_names(kind: str) -> list[str]:
    """Names (file stems) of the bundled files of ``kind``, sorted."""
    _, suffix, _ = KINDS[kind]
    folder = bundled_dir(kind)
    return sorted(p.name[: -len(suffix)] for p in folder.glob(f"*{suffix}")) if folder.is_dir() else []


def bare_name(spec: str, suffix: str) -> str | None:
    """``spec`` without ``suffix`` when it is a bare name (no folder part), else None."""
    if "/" in spec or "\\" in spec or not spec:
        return None
    return spec[: -len(suffix)] if spec.endswith(suffix) else spec


def resolve(spec: str | Path, kind: str) -> Path:
    """The file ``spec`` names: an existing path, else the bundled file of that name.

    Raises
    ------
    InvalidInputError
        Neither a file nor a bundled name; the message lists the bundled names.
    """
    _, suffix, what = KINDS[kind]
    path = Path(spec)
    if path.exists():
        return path
    name = bare_name(str(spec), suffix)
    if name is not None and (bundled_dir(kind) / f"{name}{suffix}").is_file():
        return bundled_dir(kind) / f"{name}{suffix}"
    raise InvalidInputError(f"{spec}: {what} not found (not a file; bundled {what}s: "
                            f"{', '.join(bundled_names(kind))})")
