"""A solution file, the instance it was made on, and the per-link view the plots draw.

The solution records its instance file and that file's SHA-256 (``instance.file``,
``instance.sha256``); the instance is needed for the map (node positions, link end points).  A
missing file or a different hash is an error, never a map of another network.  A batch solution
of a what-if scenario (``scenario`` key) is drawn on the scenario's network.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.io.bundled import resolve
from topo_opt.io.solution_json import file_sha256, read_solution
from topo_opt.io.topohub import is_topohub
from topo_opt.model.network import Network
from topo_opt.model.scenarios import Scenario, apply_scenario
from topo_opt.solve.instance_loader import read_network


@dataclass(frozen=True)
class LinkView:
    """Per link, in the order of the solution's ``links``: what the map draws.

    ``utilization`` is the larger of the link's two directions (NaN when saturated or off),
    ``capacity`` in the solution's rate unit, ``xy`` the two end points' drawing positions.
    """

    ids: list[str]
    source: list[str]
    target: list[str]
    capacity: np.ndarray
    utilization: np.ndarray
    on: np.ndarray
    xy: np.ndarray          # shape (n_links, 2, 2): [link, end, (x, y)]


@dataclass(frozen=True)
class SolutionReport:
    """A solution document and its network.

    Attributes
    ----------
    path : Path
    doc : dict
        The solution JSON.
    network : Network
        The instance (with the solution's scenario applied).
    positions : dict
        Node id -> (x, y) drawing position.
    geographic : bool
        True when ``positions`` are (longitude, latitude) in degrees.
    """

    path: Path
    doc: dict[str, Any]
    network: Network
    positions: dict[str, tuple[float, float]]
    geographic: bool

    @property
    def nodes_off(self) -> list[str]:
        """Ids of the nodes the design switches off (min-power designs), in solution order."""
        return list(self.doc.get("nodes_off") or [])

    def switched_off(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The links the design switches off (id, from, to, capacity: the installed capacity in
        the solution's rate unit) and the ids of the nodes it switches off."""
        view = self.links()
        links = [{"link": i, "from": s, "to": t, "capacity": float(c)}
                 for i, s, t, c, on in zip(view.ids, view.source, view.target, view.capacity, view.on) if not on]
        return links, self.nodes_off

    @property
    def title(self) -> str:
        doc = self.doc
        scenario = doc.get("scenario", {}).get("name")
        return (f"{doc['instance']['name']}: {doc['model']['problem']} ({doc['method']})"
                + (f", scenario {scenario}" if scenario else ""))

    def links(self) -> LinkView:
        """The per-link view (see :class:`LinkView`)."""
        index = {link.id: i for i, link in enumerate(self.network.links)}
        rows = [entry for entry in self.doc.get("links", []) if entry["id"] in index]
        util: dict[str, float] = {}
        for arc in self.doc.get("arcs", []):
            value = np.nan if arc.get("utilization") is None else float(arc["utilization"])
            util[arc["link"]] = np.fmax(util.get(arc["link"], np.nan), value)
        links = [self.network.links[index[entry["id"]]] for entry in rows]
        xy = np.array([[self.positions[link.source], self.positions[link.target]] for link in links],
                      dtype=float).reshape(len(links), 2, 2)
        return LinkView(ids=[entry["id"] for entry in rows], source=[link.source for link in links],
                        target=[link.target for link in links],
                        capacity=np.array([float(entry["capacity"]) for entry in rows]),
                        utilization=np.array([util.get(entry["id"], np.nan) for entry in rows]),
                        on=np.array([bool(entry.get("on", True)) for entry in rows]), xy=xy)


def node_positions(network: Network) -> tuple[dict[str, tuple[float, float]], bool]:
    """Drawing positions: longitude/latitude when every node has them, else the SNDlib planar
    coordinates kept in ``metadata["node_xy"]``, else a seeded networkx spring layout."""
    nodes = network.nodes
    if nodes and all(n.longitude is not None and n.latitude is not None for n in nodes):
        return {n.id: (float(n.longitude), float(n.latitude)) for n in nodes}, True
    planar = network.metadata.get("node_xy") or {}
    if nodes and all(n.id in planar for n in nodes):
        return {n.id: (float(planar[n.id][0]), float(planar[n.id][1])) for n in nodes}, False
    graph = nx.Graph()
    graph.add_nodes_from(n.id for n in nodes)
    graph.add_edges_from((link.source, link.target) for link in network.links)
    layout = nx.spring_layout(graph, seed=0)
    return {node: (float(x), float(y)) for node, (x, y) in layout.items()}, False


def _instance_path(path: Path, doc: dict[str, Any], instance: str | Path | None) -> Path | str:
    if instance is not None:
        return instance if is_topohub(instance) else resolve(instance, "instance")  # a file or bundled name
    recorded = doc.get("instance", {}).get("file")
    if not recorded:
        raise InvalidInputError(f"{path}: the solution does not record its instance file; pass --instance")
    if is_topohub(recorded):  # no file: the key names the graph, read by the same rule as solve's
        return recorded
    for candidate in (Path(recorded), path.parent / recorded):
        if candidate.is_file():
            return candidate
    raise InvalidInputError(f"{path}: instance file {recorded!r} not found (relative to the current folder "
                            f"or to the solution's); pass --instance")


def load_solution_report(path: str | Path, instance: str | Path | None = None,
                         format: str = "auto") -> SolutionReport:
    """Read a solution and its instance, checking the instance's SHA-256.

    Parameters
    ----------
    path : path-like
        Solution JSON (``topo-opt solve --out`` or a batch's ``solutions/``).
    instance : path-like, optional
        The instance, instead of the one the solution records: a file, a bundled instance's
        name or a topohub key (:func:`~topo_opt.solve.instance_loader.read_network`).
    format : str
        Instance format.

    Raises
    ------
    InvalidInputError
        Unreadable solution, missing instance, or an instance whose SHA-256 differs from the one
        recorded in the solution.
    """
    path = Path(path)
    doc = read_solution(path)
    file = _instance_path(path, doc, instance)
    expected = doc.get("instance", {}).get("sha256")
    actual = None if is_topohub(file) else file_sha256(file)
    if expected and actual and actual != expected:
        raise InvalidInputError(f"{path}: instance {str(file)!r} has SHA-256 {actual[:12]}..., but the "
                                f"solution was made on {expected[:12]}... (a different or edited file)")
    network = read_network(file, format)
    if doc.get("scenario"):
        network = apply_scenario(network, Scenario.from_dict(doc["scenario"]))
    positions, geographic = node_positions(network)
    return SolutionReport(path, doc, network, positions, geographic)
