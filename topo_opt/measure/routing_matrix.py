"""The routing matrix: how much of each origin-destination demand every measured interface sees.

For measured interfaces i and demands k, ``A[i, k]`` is the fraction of demand k carried by
interface i, so the measured loads are ``y = A x`` for the demand vector x (rate unit):

* ``(link, "forward")`` -- the arc from the link's source to its target (``"reverse"``: back);
  ``A[i, k] = Σ_{paths p of k using the arc} fraction_p``;
* ``(node, "ingress")`` -- traffic entering the network at the node: ``A[i, k] = 1`` when k
  starts there; ``(node, "egress")`` -- leaving it: ``A[i, k] = 1`` when k ends there.

The routing is a fixed rule of :mod:`topo_opt.algorithms.baselines` (min-hop, shortest length,
ECMP) or the routing of a solved design (a solution JSON file).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.measure.counters import Key
from topo_opt.model.design import Routing
from topo_opt.model.network import Demand, Network
from topo_opt.model.routing_rules import BASELINE_RULES
from topo_opt.model.validation import replace_network


def all_pairs(network: Network) -> Network:
    """``network`` with one unit demand ``"s->t"`` per ordered pair of distinct nodes."""
    ids = [n.id for n in network.nodes]
    demands = tuple(Demand(id=f"{s}->{t}", source=s, target=t, rate=1.0)
                    for s in ids for t in ids if s != t)
    return replace_network(network, demands=demands)


def routing_for(network: Network, rule: str) -> Routing:
    """The routing of ``network``'s demands: a rule name or a solution file's design.

    Raises
    ------
    InvalidInputError
        Neither a rule nor a readable solution for this network.
    InfeasibleError
        A rule cannot reach some demand's target.
    """
    from topo_opt.algorithms import baselines

    if rule in baselines.BASELINE_ROUTINGS:
        return baselines.BASELINE_ROUTINGS[rule](network)
    if not Path(rule).is_file():
        raise InvalidInputError(f"routing {rule!r} is neither {', '.join(BASELINE_RULES)} nor a solution file")
    from topo_opt.io.solution_json import read_design

    return read_design(rule, network).routing


def demand_arc_matrix(network: Network, routing: Routing) -> np.ndarray:
    """Dense ``n_arcs × n_demands`` matrix of the fraction of each demand on each arc."""
    return routing.demand_arc_fraction(network.n_demands, network.n_arcs).T


def interface_rows(network: Network, keys: list[Key], source: str = "rates") -> list[tuple[str, int]]:
    """Each key as ``("arc", arc index)``, ``("ingress", node)`` or ``("egress", node)``.

    Raises
    ------
    InvalidInputError
        A link or node id not in the instance, a node with a link direction or a link with an
        access direction, ``reverse`` on a directed link.
    """
    rows = []
    for link_id, direction in keys:
        if direction in ("forward", "reverse"):
            index = network.link_index.get(link_id)
            if index is None:
                raise InvalidInputError(f"{source}: link {link_id!r} is not in instance {network.name!r}")
            if direction == "reverse":
                if network.link_model == "directed":
                    raise InvalidInputError(f"{source}: link {link_id!r} is directed: no reverse direction")
                index += network.n_links
            rows.append(("arc", index))
        else:
            node = network.node_index.get(link_id)
            if node is None:
                raise InvalidInputError(f"{source}: {direction} counter of {link_id!r}: no such node in "
                                        f"instance {network.name!r}")
            rows.append((direction, node))
    return rows


def measurement_matrix(network: Network, routing: Routing, keys: list[Key], source: str = "rates") -> np.ndarray:
    """``A`` (len(keys) × n_demands): the fraction of each demand seen by each interface."""
    arcs = demand_arc_matrix(network, routing)
    out = np.zeros((len(keys), network.n_demands))
    for i, (kind, index) in enumerate(interface_rows(network, keys, source)):
        if kind == "arc":
            out[i] = arcs[index]
        elif kind == "ingress":
            out[i] = network.demand_source == index
        else:
            out[i] = network.demand_target == index
    return out
