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
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: {what} not found") from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise InvalidInputError(f"{path}: not a TOML {what}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path}: invalid TOML: {exc}") from None
