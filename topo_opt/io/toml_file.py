"""Reading TOML files (model cards, power profiles) with one-line errors naming the file."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import regular_file

TOMLDecodeError = tomllib.TOMLDecodeError


def loads_toml(text: str) -> dict[str, Any]:
    """Parse TOML text (raises ``TOMLDecodeError``)."""
    return tomllib.loads(text)


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """Parse the TOML file ``path``; ``what`` names it in errors (e.g. "model card").

    Raises
    ------
    InvalidInputError
        Missing file, not text, or a TOML syntax error (the message gives the line).
    """
    path = Path(path)
    try:
        return tomllib.loads(regular_file(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: {what} not found") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path}: not a TOML {what}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path}: invalid TOML: {exc}") from None


def apply_overrides(raw: dict[str, Any], overrides: tuple[str, ...]) -> None:
    """Set ``KEY=VALUE`` overrides (dotted keys, TOML value syntax; bare words are strings) in
    the parsed TOML ``raw``, creating tables as needed.

    Raises
    ------
    InvalidInputError
        An override without ``=``, or a dotted key through a value that is not a table.
    """
    for text in overrides:
        if "=" not in text:
            raise InvalidInputError(f"--set {text!r}: expected KEY=VALUE with a dotted key")
        key, value = (part.strip() for part in text.split("=", 1))
        try:
            parsed = loads_toml(f"v = {value}")["v"]
        except TOMLDecodeError:
            parsed = value
        *parents, leaf = key.split(".")
        table = raw
        for part in parents:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise InvalidInputError(f"--set {key}: {part!r} is not a table")
        table[leaf] = parsed
