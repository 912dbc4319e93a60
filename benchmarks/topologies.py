"""Real topologies with traffic for the near-capacity and whole-process benchmarks.

* SNDlib native files of the benchmark collections (found by ``external.py``:
  ``$TOPO_OPT_BENCHMARKS/sndlib``, else ``../shared/benchmarks/sndlib``): their demands; their
  installed capacities where every link has one, else sized (below).
* CommaLab ``planar``/``grid`` files as they are (``commalab:planar500``; the whole-process
  benchmark's large set).
* the bundled ``instances/`` (``bundled:abilene``; with CommaLab, the solver-speed set).
* topohub (PyPI) graphs (``topozoo/Uninett2011``, ``gabriel/50/0``), read as the command line
  reads ``topohub:KEY`` (:mod:`topo_opt.io.topohub`: one duplex link per edge, great-circle
  lengths except for the planar Gabriel graphs, gravity demands of 100 Gbit/s in total with
  node masses = degree), capacities sized.

Sizing: every link gets the smallest standard line rate keeping it at or below 50 % under
min-hop routing (:func:`topo_opt.algorithms.baselines.min_hop_sized`, the bundled-instance rule).
"""
from __future__ import annotations

import numpy as np

from external import benchmarks_root, collection
from topo_opt.algorithms.baselines import min_hop_sized
from topo_opt.io.detect import read_instance
from topo_opt.io.sndlib import read_sndlib
from topo_opt.model import Network
from topo_opt.model.synthesis import with_lengths_from_coordinates
from topo_opt.solve.instance_loader import read_network


def sndlib(name: str) -> Network:
    """An SNDlib network of the collections, capacities installed or sized."""
    network = with_lengths_from_coordinates(read_sndlib(benchmarks_root() / "sndlib" / f"{name}.txt"))
    return network if np.all(network.link_capacity > 0) else min_hop_sized(network)


def topohub_network(key: str) -> Network:
    """A topohub graph (``topozoo/NAME``, ``gabriel/N/I``) with gravity demands and sized links."""
    return read_network(f"topohub:{key}", "auto")


def commalab(name: str) -> Network:
    """A CommaLab ``planar``/``grid`` instance as given (packet/s capacities and demands)."""
    return read_instance(collection("commalab", name.rstrip("0123456789"), name))


def instance(name: str) -> Network:
    """``sndlib:NAME``, ``commalab:NAME`` (planar100, grid3), ``bundled:NAME`` (``instances/``) or a
    topohub key."""
    if name.startswith("sndlib:"):
        return sndlib(name.split(":", 1)[1])
    if name.startswith("bundled:"):
        return read_network(name.split(":", 1)[1])
    return commalab(name.split(":", 1)[1]) if name.startswith("commalab:") else topohub_network(name)
