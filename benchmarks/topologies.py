"""Real topologies with traffic for the near-capacity and whole-process benchmarks.

* SNDlib native files of the benchmark collections (``$TOPO_OPT_BENCHMARKS/sndlib``, else
  ``../shared/benchmarks/sndlib`` beside the repository): their demands; their installed
  capacities where every link has one, else sized (below).
* topohub (PyPI) Topology Zoo and Gabriel graphs (``topozoo/Uninett2011``, ``gabriel/50/0``):
  one duplex link per edge, lengths from the node coordinates (great circle; Gabriel graphs,
  synthetic points in a plane, get none), gravity demands
  with node masses = degree (:func:`topo_opt.model.synthesis.gravity_demands`, 100 Gbit/s in
  total), capacities sized.

Sizing: every link gets the smallest standard line rate keeping it at or below 50 % under
min-hop routing (:func:`topo_opt.model.synthesis.size_capacities`, the bundled-instance rule).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.io.sndlib import read_sndlib
from topo_opt.model import Link, Network, Node, build_network
from topo_opt.model.synthesis import gravity_demands, size_capacities, with_lengths_from_coordinates

REPO = Path(__file__).resolve().parents[1]
GRAVITY_TOTAL_BPS = 100e9
SIZING_UTILIZATION = 0.5


def benchmarks_root() -> Path:
    configured = os.environ.get("TOPO_OPT_BENCHMARKS")
    return Path(configured) if configured else REPO.parent / "shared" / "benchmarks"


def sized(network: Network) -> Network:
    """``network`` with every link at the smallest line rate keeping min-hop loads ≤ 50 %."""
    load = min_hop_routing(network).arc_flow(network.demand_rate, network.n_arcs)
    return size_capacities(network, load, target_utilization=SIZING_UTILIZATION)


def sndlib(name: str) -> Network:
    """An SNDlib network of the collections, capacities installed or sized."""
    network = with_lengths_from_coordinates(read_sndlib(benchmarks_root() / "sndlib" / f"{name}.txt"))
    return network if np.all(network.link_capacity > 0) else sized(network)


def topohub_network(key: str) -> Network:
    """A topohub graph (``topozoo/NAME``, ``gabriel/N/I``) with gravity demands and sized links."""
    import topohub

    doc = topohub.get(key)
    geographic = not key.startswith("gabriel/")  # Gabriel graphs lie in a plane, not on the globe
    nodes = [Node(str(n["id"]), *(map(float, n["pos"]) if geographic else ())) for n in doc["nodes"]]
    pairs = {tuple(sorted((str(e["source"]), str(e["target"])))) for e in doc["edges"] if e["source"] != e["target"]}
    links = [Link(f"{s}-{t}", s, t, GRAVITY_TOTAL_BPS) for s, t in sorted(pairs)]  # placeholder, sized below
    network = build_network(name=key.replace("/", "-"), nodes=nodes, links=links, demands=(),
                            link_model="duplex", metadata={"source": f"topohub {key}"})
    network = with_lengths_from_coordinates(network) if geographic else network
    return sized(gravity_demands(network, GRAVITY_TOTAL_BPS, masses="degree"))


def instance(name: str) -> Network:
    """``sndlib:NAME`` or a topohub key."""
    return sndlib(name.split(":", 1)[1]) if name.startswith("sndlib:") else topohub_network(name)
