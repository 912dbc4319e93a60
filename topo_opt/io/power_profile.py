"""Device power profile cards (TOML) for the power evaluator.

A card describes one kind of router (``models/power/core-router.toml``)::

    name = "core-router"
    description = "..."
    source = "Chabarek et al., INFOCOM 2008; Van Heddeghem et al., PNC 2012"
    chassis_w = 430.0            # W, chassis when the node is on
    port_w = 90.0                # W, idle power of one active link end

    [load]
    shape = "linear"             # on-off | linear | cubic | log | proportional
    w_per_gbps = 1.0             # W per Gbit/s transmitted, at full reference load
    reference_capacity_bps = 10e9

Every key is checked: an unknown key or a bad value is an :class:`InvalidInputError` naming the
file and the key.  The model itself is documented in :mod:`topo_opt.evaluators.power`.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

from topo_opt.errors import InvalidInputError
from topo_opt.io.bundled import bundled_dir, bundled_names
from topo_opt.io.toml_file import read_toml
from topo_opt.evaluators.power import LOAD_SHAPES, PowerProfile
from topo_opt.model.network import Network

#: Device power profiles shipped with topo-opt (package data: the repository's ``models/power``).
BUNDLED_POWER_PROFILES = bundled_dir("power")

_TOP_KEYS = ("name", "description", "source", "chassis_w", "port_w", "load")
_STRING_KEYS = ("name", "description", "source")
_LOAD_KEYS = ("shape", "w_per_gbps", "reference_capacity_bps")


def _number(path: Path, table: Mapping[str, Any], key: str, unit: str, strict: bool = False) -> float:
    """The finite number >= 0 (> 0 if ``strict``) at dotted ``key`` of ``table``."""
    name = key.rsplit(".", 1)[-1]
    if name not in table:
        raise InvalidInputError(f"{path}: missing key {key!r} ({unit})")
    value = table[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or (value <= 0 if strict else value < 0):
        raise InvalidInputError(
            f"{path}: {key} must be a finite number {'>' if strict else '>='} 0, got {value!r} {unit}")
    return float(value)


def load_power_profile(path: str | Path) -> PowerProfile:
    """Read and validate a device power profile card.

    Parameters
    ----------
    path : str or Path
        TOML card with ``chassis_w``, ``port_w``, ``source`` and a ``[load]`` table with
        ``shape``, ``w_per_gbps`` and ``reference_capacity_bps``; ``name`` defaults to the file
        stem, ``description`` to "".

    Returns
    -------
    PowerProfile

    Raises
    ------
    InvalidInputError
        Missing file, TOML syntax error, unknown or missing key, wrong type, negative or
        non-finite number, unknown load shape, empty ``source``.
    """
    path = Path(path)
    raw = read_toml(path, "power profile")

    for key in raw:
        if key not in _TOP_KEYS:
            raise InvalidInputError(f"{path}: unknown key {key!r}")
    for key in _STRING_KEYS:
        if not isinstance(raw.get(key, ""), str):
            raise InvalidInputError(f"{path}: {key} must be a string, got {raw[key]!r}")
    if not raw.get("source", "").strip():
        raise InvalidInputError(f"{path}: missing key 'source' (where the numbers come from)")
    load = raw.get("load")
    if not isinstance(load, dict):
        raise InvalidInputError(f"{path}: missing table [load] (shape, w_per_gbps, reference_capacity_bps)")
    for key in load:
        if key not in _LOAD_KEYS:
            raise InvalidInputError(f"{path}: unknown key 'load.{key}'")
    shape = load.get("shape")
    if shape not in LOAD_SHAPES:
        raise InvalidInputError(f"{path}: load.shape must be one of {', '.join(LOAD_SHAPES)}, got {shape!r}")

    return PowerProfile(
        name=raw.get("name", path.stem),
        chassis_w=_number(path, raw, "chassis_w", "W"),
        port_w=_number(path, raw, "port_w", "W"),
        load_shape=shape,
        load_w_per_gbps=_number(path, load, "load.w_per_gbps", "W per Gbit/s"),
        reference_capacity_bps=_number(path, load, "load.reference_capacity_bps", "bit/s",
                                       strict=True),
        source=raw["source"],
        description=raw.get("description", ""),
    )


def profile_file(name: str, directory: str | Path | None = None) -> Path:
    """The card of the profile called ``name``: ``directory/<name>.toml`` when a folder is given
    and holds it, else the bundled profile of that name.

    Raises
    ------
    InvalidInputError
        No such profile in ``directory`` nor among the bundled ones (both listed).
    """
    if directory is not None:
        own = Path(directory) / f"{name}.toml"
        if own.is_file():
            return own
        if not Path(directory).is_dir():
            raise InvalidInputError(f"{directory}: power profile folder not found")
    bundled = BUNDLED_POWER_PROFILES / f"{name}.toml"
    if bundled.is_file():
        return bundled
    where = f"in {directory} nor " if directory is not None else ""
    raise InvalidInputError(f"power profile {name!r} not found {where}among the bundled profiles "
                            f"({', '.join(bundled_names('power'))})")


def load_node_profiles(network: Network, directory: str | Path | None = None,
                       default: str | None = None) -> dict[str, PowerProfile]:
    """The profile of every node, from the cards its ``Node.power_profile`` names.

    Node ``n`` gets the profile named ``n.power_profile`` (else ``default``), found by
    :func:`profile_file` in ``directory`` or among the bundled profiles; each card is read once.

    Raises
    ------
    InvalidInputError
        A node without a profile name and no ``default``, or a card that does not load.
    """
    cards: dict[str, PowerProfile] = {}
    out: dict[str, PowerProfile] = {}
    for node in network.nodes:
        name = node.power_profile or default
        if name is None:
            raise InvalidInputError(f"node {node.id!r}: no power_profile and no default profile given")
        if name not in cards:
            cards[name] = load_power_profile(profile_file(name, directory))
        out[node.id] = cards[name]
    return out


def profile_source(profile: str | Path) -> tuple[Path, str]:
    """Where the profile ``profile`` (``--power PROFILE``) lives: (folder, card name).

    A path to a card file gives its folder and name (``cards/edge.toml`` -> ``(cards, "edge")``);
    a bare name is a card in :data:`BUNDLED_POWER_PROFILES` (``core-router``).

    Raises
    ------
    InvalidInputError
        Neither an existing card file nor a bundled name; the message lists the bundled ones.
    """
    path = Path(profile)
    if path.is_file():
        return path.parent, path.stem
    if path.name == str(profile) and (BUNDLED_POWER_PROFILES / f"{path.name}.toml").is_file():
        return BUNDLED_POWER_PROFILES, path.name
    bundled = ", ".join(sorted(p.stem for p in BUNDLED_POWER_PROFILES.glob("*.toml")))
    raise InvalidInputError(f"power profile {str(profile)!r}: no such card file, and not a bundled profile "
                            f"({bundled})")


def profiles_for(network: Network, profile: str | Path) -> dict[str, PowerProfile]:
    """Each node's profile for ``--power PROFILE``: the card a node's ``power_profile`` names (in
    PROFILE's folder), else PROFILE itself (see :func:`profile_source`)."""
    directory, name = profile_source(profile)
    return load_node_profiles(network, directory, default=name)
