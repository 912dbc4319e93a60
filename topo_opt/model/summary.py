"""A one-screen summary of an instance, with a cheap capacity feasibility hint.

The hint is the single-node cut bound on the min max-utilisation U*: all traffic leaving node v
must cross v's outgoing arcs, so U* ≥ max_v (Σ_{k: s_k=v} r_k) / (Σ_{a: tail(a)=v} C_a), and
likewise for traffic entering v.  U* ≥ 1 means no routing fits (the delay problem is infeasible);
a value below 1 is only necessary, not sufficient: ``topo-opt solve`` proves feasibility.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from topo_opt.model.network import Network


def node_cut_utilization_bound(network: Network) -> tuple[float, str]:
    """The single-node cut lower bound on max utilisation and the node that attains it."""
    arc_cap = network.queue_capacity()[network.arc_queue]
    if network.link_model == "undirected":  # both directions share the capacity: count it once
        arc_cap = arc_cap / 2.0
    out_cap = np.bincount(network.arc_tail, weights=arc_cap, minlength=network.n_nodes)
    in_cap = np.bincount(network.arc_head, weights=arc_cap, minlength=network.n_nodes)
    out_dem = np.bincount(network.demand_source, weights=network.demand_rate, minlength=network.n_nodes)
    in_dem = np.bincount(network.demand_target, weights=network.demand_rate, minlength=network.n_nodes)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.maximum(np.where(out_dem > 0, out_dem / out_cap, 0.0),
                           np.where(in_dem > 0, in_dem / in_cap, 0.0))
    if ratio.size == 0:
        return 0.0, ""
    v = int(np.argmax(ratio))
    return float(ratio[v]), network.nodes[v].id


def summarize(network: Network) -> dict[str, Any]:
    """Sizes, units and totals of ``network`` as an ordered mapping of labelled values.

    Installed links with capacity 0 carry modules (validation demands it): their capacity is to be
    bought, so a network of such links (most SNDlib instances) is a capacity-design instance, not
    an infeasible one, and the hint says so.
    """
    unit = network.rate_unit
    bound, node = node_cut_utilization_bound(network)
    installed = [link for link in network.links if link.installed]
    to_buy = sum(1 for link in installed if link.capacity == 0)
    if not node:
        bound_text = "n/a"
    elif math.isinf(bound):
        bound_text = f"n/a: no installed capacity at node {node}"
    else:
        bound_text = f"{bound:.4g} at node {node}"
    if bound < 1:
        hint = "no node cut is saturated (run solve for a proof)"
    elif to_buy:
        hint = (f"capacity to buy: {to_buy} links have no installed capacity, only modules; solve with "
                "a modular-capacity card and --set constraints.max_delay_s=SECONDS")
    else:
        hint = "infeasible: a node cannot send or receive its traffic"
    summary = {
        "nodes": network.n_nodes,
        "links": f"{network.n_links} ({len(installed)} installed, {network.link_model})",
        "arcs": network.n_arcs,
        "demands": network.n_demands,
        "rate unit": unit,
        "mean packet length (bit)": network.packet_length_bits if unit == "bit/s" else "n/a (packet/s)",
        f"total demand ({unit})": network.total_demand,
        f"total capacity ({unit})": float(network.link_capacity.sum()),
        "links with modules": sum(1 for link in network.links if link.modules),
        "links without installed capacity": f"{to_buy} (modules only: capacity to buy)" if to_buy else 0,
        "links with length": int(np.isfinite(network.link_length_m).sum()),
        "max utilization lower bound (node cuts)": bound_text,
        "feasibility hint": hint,
    }
    hop_limited = sum(1 for d in network.demands if d.max_path_length is not None)
    if hop_limited:
        summary["demands with a hop limit"] = f"{hop_limited} (max_path_length: kept, not used by the solvers)"
    for key, value in network.metadata.items():  # what the reader left out, e.g. self-loops
        if key.startswith("dropped_") and value:
            summary[key.replace("_", " ")] = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return summary
