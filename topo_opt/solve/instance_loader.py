"""The network an instance argument names: a file, a bundled instance, or a topohub graph.

One rule for every command and for batch jobs, so ``topohub:zoo/Abilene`` means the same
network to ``solve``, ``batch`` and ``report``:

* an existing file, read in ``fmt`` (``auto``: sniffed) and validated;
* a bundled instance's name (``abilene``, ``six-node``) when no such file exists;
* ``topohub:GROUP/NAME``: the topohub graph with gravity demands, its links sized for 50 %
  utilisation under min-hop routing (:func:`topo_opt.algorithms.baselines.min_hop_sized`, the
  bundled-instance rule), links without a capacity first given the smallest standard line rate.

Imports are local: `topo-opt --help` must not pay for topohub or scipy.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from topo_opt.model.network import Network


def read_network(spec: str | Path, fmt: str = "auto") -> "Network":
    """The validated network ``spec`` names (see the module docstring).

    Raises
    ------
    InvalidInputError
        No such file or bundled name, an unknown topohub key, or a malformed file.
    """
    from topo_opt.io.topohub import is_topohub

    if is_topohub(spec):
        from topo_opt.algorithms.baselines import min_hop_sized
        from topo_opt.io.topohub import read_topohub
        from topo_opt.model.synthesis import STANDARD_LINE_RATES

        return min_hop_sized(read_topohub(str(spec), missing_capacity_bps=STANDARD_LINE_RATES[0]))
    from topo_opt.io.bundled import resolve
    from topo_opt.io.detect import read_instance

    return read_instance(resolve(spec, "instance"), format=fmt)


def instance_label(spec: str | Path) -> str:
    """The instance's short name in tables and file names: a file's stem, a bundled instance's
    name, a topohub graph's network name (``topozoo-Abilene``, ``gabriel-25-0``: the key's last
    part alone would call every ``gabriel/N/0`` ``0``)."""
    from topo_opt.io.topohub import is_topohub, topohub_name

    return topohub_name(spec) if is_topohub(spec) else Path(spec).stem
