"""What-if scenarios: demand growth and element failures applied to a network.

A :class:`Scenario` is data (it goes into result tables and batch job identities);
:func:`apply_scenario` turns it into the network the solver sees:

* ``demand_scale`` multiplies every demand rate (``synthesis.scale_demands``);
* each failed link is removed (several links may fail together);
* each failed node is removed with its links and with the demands it sources or sinks (a
  router that is down neither sends nor receives); the dropped demands are recorded in
  ``metadata["scenario"]["dropped_demands"]``.

A failure that disconnects a remaining demand is not an error here: the solve that follows
reports it as infeasible, naming the demand.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Sequence

import numpy as np

from topo_opt.errors import InvalidInputError
from topo_opt.model.network import Network
from topo_opt.model.synthesis import scale_demands
from topo_opt.model.validation import replace_network


@dataclass(frozen=True)
class Scenario:
    """Demand growth factor and failed elements (link and node ids of the instance)."""

    name: str = "base"
    demand_scale: float = 1.0
    failed_links: tuple[str, ...] = ()
    failed_nodes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["failed_links"], doc["failed_nodes"] = list(self.failed_links), list(self.failed_nodes)
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> "Scenario":
        """The scenario of :meth:`to_dict` (as stored in batch jobs and solution files)."""
        return cls(str(doc["name"]), float(doc["demand_scale"]), tuple(doc["failed_links"]),
                   tuple(doc["failed_nodes"]))


def apply_scenario(network: Network, scenario: Scenario) -> Network:
    """The network of ``scenario``: demands scaled, failed links and nodes removed.

    Raises
    ------
    InvalidInputError
        Unknown link or node id, or a demand scale that is not a finite number > 0.
    """
    for link_id in scenario.failed_links:
        if link_id not in network.link_index:
            raise InvalidInputError(f"scenario {scenario.name!r}: unknown link {link_id!r}")
    for node_id in scenario.failed_nodes:
        if node_id not in network.node_index:
            raise InvalidInputError(f"scenario {scenario.name!r}: unknown node {node_id!r}")
    if scenario.demand_scale != 1.0:
        network = scale_demands(network, scenario.demand_scale)
    if not (scenario.failed_links or scenario.failed_nodes):
        return network
    down_nodes = set(scenario.failed_nodes)
    down_links = set(scenario.failed_links)
    links = tuple(link for link in network.links if link.id not in down_links
                  and link.source not in down_nodes and link.target not in down_nodes)
    demands = tuple(d for d in network.demands
                    if d.source not in down_nodes and d.target not in down_nodes)
    dropped = [d.id for d in network.demands if d.source in down_nodes or d.target in down_nodes]
    metadata = dict(network.metadata)
    metadata["scenario"] = {**scenario.to_dict(), "dropped_demands": dropped}
    return replace_network(network, nodes=tuple(n for n in network.nodes if n.id not in down_nodes),
                           links=links, demands=demands, metadata=metadata)


def parse_range(text: str, what: str = "demand scale") -> list[float]:
    """``"START:STOP:STEP"`` (both ends included) or a single number → list of numbers > 0.

    ``what`` names the option in error messages.

    >>> parse_range("1.0:1.3:0.1")
    [1.0, 1.1, 1.2, 1.3]
    """
    parts = text.split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidInputError(f"{what} {text!r}: expected START:STOP:STEP or a number") from None
    if len(values) == 1:
        numbers = values
    elif len(values) == 3:
        start, stop, step = values
        if not (step > 0 and stop >= start):
            raise InvalidInputError(f"{what} {text!r}: need STEP > 0 and STOP >= START")
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        numbers = np.round(start + step * np.arange(count), 12).tolist()
    else:
        raise InvalidInputError(f"{what} {text!r}: expected START:STOP:STEP or a number")
    bad = [s for s in numbers if not (math.isfinite(s) and s > 0)]
    if bad:
        raise InvalidInputError(f"{what} {text!r}: values must be finite and > 0, got {bad[0]}")
    return numbers


FAILURE_KEYWORDS = ("each-link", "each-node", "each-link-pair")


def failure_scenarios(network: Network, spec: str | Sequence[str]) -> list[Scenario]:
    """Failure scenarios of ``network``.

    ``spec`` is a keyword: ``"each-link"`` and ``"each-node"`` (every single failure),
    ``"each-link-pair"`` (every two links failing together, n(n − 1)/2 scenarios); or a list of
    failures, each a link id or link ids joined by ``+`` (links that fail together, e.g. two
    links in one duct).  A link id that itself contains ``+`` is taken whole.

    Raises
    ------
    InvalidInputError
        An id in the list that is not a link of ``network``.
    """
    if spec == "each-link":
        return [Scenario(f"fail link {link.id}", failed_links=(link.id,)) for link in network.links]
    if spec == "each-node":
        return [Scenario(f"fail node {node.id}", failed_nodes=(node.id,)) for node in network.nodes]
    if spec == "each-link-pair":
        return [Scenario(f"fail links {a.id}+{b.id}", failed_links=(a.id, b.id))
                for a, b in itertools.combinations(network.links, 2)]
    scenarios = []
    for failure in [spec] if isinstance(spec, str) else spec:
        ids = (failure,) if failure in network.link_index else \
            tuple(dict.fromkeys(part.strip() for part in failure.split("+")))
        for link_id in ids:
            if link_id not in network.link_index:
                raise InvalidInputError(f"--fail: {link_id!r} is not a link of {network.name!r} (give "
                                        f"link ids, ids joined by '+', or one of {', '.join(FAILURE_KEYWORDS)})")
        name = f"fail link {ids[0]}" if len(ids) == 1 else f"fail links {'+'.join(ids)}"
        scenarios.append(Scenario(name, failed_links=ids))
    return scenarios


def scenario_grid(network: Network | None, demand_scales: Sequence[float],
                  failures: str | Sequence[str] | None = None) -> list[Scenario]:
    """The intact network and each failure scenario, each at every demand scale.

    ``failures`` mixes the keywords of :func:`failure_scenarios` and failures (a link id, or
    ids joined by ``+``); None or empty: the intact network only.  Names: the failure's (``"base"`` when
    intact), with ``", demand x1.5"`` appended for scales other than 1.  ``network`` is needed
    only for failures.

    Raises
    ------
    InvalidInputError
        A failure that is neither a keyword nor a link id of ``network``.
    """
    specs = [failures] if isinstance(failures, str) else list(failures or ())
    bases = [Scenario()]
    for keyword in dict.fromkeys(spec for spec in specs if spec in FAILURE_KEYWORDS):
        bases += failure_scenarios(network, keyword)
    ids = list(dict.fromkeys(spec for spec in specs if spec not in FAILURE_KEYWORDS))
    if ids:
        bases += failure_scenarios(network, ids)
    return [replace(base, name=_scaled_name(base, scale), demand_scale=scale)
            for base in dict.fromkeys(bases) for scale in demand_scales]


def _scaled_name(base: Scenario, scale: float) -> str:
    if scale == 1.0:
        return base.name
    growth = f"demand x{scale:g}"
    return growth if base == Scenario() else f"{base.name}, {growth}"
