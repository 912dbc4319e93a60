"""Regenerate the bundled SNDlib instances (abilene, geant, nobel-us) in native JSON.

Usage::

    python instances/convert_sndlib.py [SNDLIB_DIR] [OUT_DIR]

Defaults: ``../shared/benchmarks/sndlib`` relative to the repository and this folder.

The rule (also written into each file's ``metadata["bundled_rule"]`` and in README.md):

1. read the SNDlib native file (rates in Mbit/s -> bit/s);
2. link lengths = great-circle distance between the end nodes (haversine, R = 6 371 km);
3. capacities: where SNDlib installs capacity on every link (abilene: 9 920 and 2 480 Mbit/s)
   it is kept, and the demand matrix -- which SNDlib scaled to a 3 Tbit/s total -- is scaled
   by the largest factor of the form {1, 2, 5}·10^k that keeps every link at or below 50 %
   utilisation under min-hop routing; otherwise (geant, nobel-us: capacity-design instances
   with zero installed capacity) each link gets the smallest standard line rate that keeps its
   busier direction at or below 50 % under min-hop routing
   (:func:`topo_opt.algorithms.baselines.min_hop_sized`);
4. every link is checked to be below utilisation 1 (M/M/1 stable) under min-hop routing.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from topo_opt.algorithms.baselines import min_hop_routing, min_hop_sized
from topo_opt.io.detect import write_instance
from topo_opt.io.sndlib import read_sndlib
from topo_opt.model.network import Network
from topo_opt.model.synthesis import scale_demands, with_lengths_from_coordinates
from topo_opt.model.validation import replace_network

NAMES = ("abilene", "geant", "nobel-us")
TARGET_UTILIZATION = 0.5
HERE = Path(__file__).resolve().parent
DEFAULT_SNDLIB = HERE.parents[1] / "shared" / "benchmarks" / "sndlib"


def min_hop_utilization(network: Network) -> np.ndarray:
    """ρ_q = F_q / C_q of every queue under min-hop routing."""
    load = min_hop_routing(network).arc_flow(network.demand_rate, network.n_arcs)
    return network.queue_load(load) / network.queue_capacity()


def nice_factor_below(x: float) -> float:
    """The largest number of the form {1, 2, 5}·10^k that is <= x."""
    exponent = math.floor(math.log10(x))
    return max(m * 10.0 ** exponent for m in (1, 2, 5) if m * 10.0 ** exponent <= x)


def convert(path: Path) -> Network:
    """Apply the bundled-instance rule of the module docstring to one SNDlib file."""
    network = with_lengths_from_coordinates(read_sndlib(path))
    if np.all(network.link_capacity > 0):
        peak = float(min_hop_utilization(network).max())
        factor = nice_factor_below(TARGET_UTILIZATION / peak)
        network = scale_demands(network, factor)
        rule = (f"installed SNDlib capacities kept; demands scaled by {factor:g} (largest "
                f"{{1,2,5}}x10^k keeping min-hop utilisation <= {TARGET_UTILIZATION})")
    else:
        network = min_hop_sized(network, TARGET_UTILIZATION)
        rule = (f"capacities sized from min-hop loads to standard line rates at "
                f"{TARGET_UTILIZATION} target utilisation")
    metadata = dict(network.metadata)
    metadata["bundled_rule"] = (rule + "; lengths great-circle from coordinates; "
                                "regenerate with instances/convert_sndlib.py")
    network = replace_network(network, metadata=metadata)
    peak = float(min_hop_utilization(network).max())
    if not peak < 1.0:
        raise AssertionError(f"{path.name}: min-hop utilisation {peak} >= 1 after conversion")
    return network


def main(argv: list[str]) -> None:
    sndlib_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_SNDLIB
    out_dir = Path(argv[2]) if len(argv) > 2 else HERE
    for name in NAMES:
        network = convert(sndlib_dir / f"{name}.txt")
        write_instance(network, out_dir / f"{name}.json")
        peak = float(min_hop_utilization(network).max())
        print(f"{name}: {network.n_nodes} nodes, {network.n_links} links, {network.n_demands} demands, "
              f"total {network.total_demand / 1e9:.3f} Gbit/s, max min-hop utilisation {peak:.3f}")


if __name__ == "__main__":
    main(sys.argv)
