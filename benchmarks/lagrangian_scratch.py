"""How far the Lagrangian bound of modular design reaches from scratch (issue 18, a probe).

For each instance (the files of ``design_scale.py``), with T_max the installed network's
min-delay delay as in the ``modular-capacity`` card and levels from scratch as
``solve_modular_capacity`` builds them:

* ``flow cost`` -- :func:`~topo_opt.algorithms.min_cost_routing.flow_cost_bound`, the bound the
  solve reports today when its MILP lags;
* ``ray`` -- :func:`~topo_opt.algorithms.modular_lagrangian_bound.lagrangian_bound` as the what-if
  upgrade calls it (π = λ × the marginal delays C/(C − F)² of min-delay routing on the continuous
  design, then its bundle steps), over the solve's thinned levels priced at ``bound_cost`` and
  over the full Pareto lists (no thinning, ``bound_cost`` = ``cost``); ``polyak_full`` adds its
  Polyak steps aimed at the incumbent of ``--incumbents`` (a ``design_scale.py`` results file);
* ``ascent`` -- the largest L(λ, π) found by ``--steps`` projected subgradient steps (Polyak
  steps towards twice the flow-cost bound) from λ small, π = half the cheapest price per unit on
  each direction, over the full lists: how high the relaxation itself goes, whatever the
  multipliers.

Usage: ``python benchmarks/lagrangian_scratch.py --work /tmp/ds --instances germany50 ...
[--incumbents results.json]`` (``PYTHONPATH`` = the tree); prints one JSON line per instance (CPU seconds per part).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
from design_scale import prepare

from topo_opt.algorithms.capacity_flow_assignment import (
    continuous_design,
    min_fixed_delay_s,
)
from topo_opt.algorithms.min_cost_routing import flow_cost_bound
from topo_opt.algorithms.modular_lagrangian_bound import _Dual, lagrangian_bound
from topo_opt.algorithms.support_routing import min_delay_on_support
from topo_opt.io.detect import read_instance
from topo_opt.model.costs import capacity_levels
from topo_opt.solve.modular_capacity import CHECK_GAP, installed_delay_s


def ascent(network, levels, t_max, target, steps):
    """Best L(λ, π) of projected subgradient steps (see the module docstring) and its λ."""
    dual = _Dual(network, levels, t_max, 1.0, True, False)
    unit = np.full(network.n_links, np.inf)
    for position, l in enumerate(np.unique(levels.link).tolist()):
        unit[l] = min(m.cost / m.capacity for m in levels.modules[position] if m.capacity > 0)
    scale = float(np.abs(levels.bound_cost).max()) / dual.packets
    point = np.r_[1e-2 * scale, unit[network.queue_link] * dual.unit / 2]
    best, best_lambda = -np.inf, 0.0
    for step in range(steps):
        value, d_lambda, d_price = dual.value(point[0], point[1:])
        if value > best:
            best, best_lambda = value, point[0]
        gradient = np.r_[d_lambda, d_price]
        point = np.maximum(point + 0.5 * (1 - step / steps) * (target - value) / max(gradient @ gradient, 1e-30)
                           * gradient, 0.0)
        point[0] = max(point[0], 1e-6 * scale)  # at λ = 0 every queue fills its level: no subgradient
    return best, best_lambda


def probe(name: str, work: Path, steps: int, delay_scale: float, incumbent: float) -> dict:
    network = read_instance(prepare(name, work))
    links = np.arange(network.n_links)
    t_max = installed_delay_s(network) * delay_scale
    packets = network.total_packet_rate * (t_max - min_fixed_delay_s(network, True))
    cap = 2.0 * network.total_demand
    tick = time.process_time()
    continuous, source = continuous_design(network, links, "min-cost", t_max, None, True, 600.0, CHECK_GAP)
    record = {"instance": name, "t_max_s": t_max, "continuous": source, "continuous_s": time.process_time() - tick}
    thinned = capacity_levels(network, cap, False, links, target_capacity=continuous)
    full = capacity_levels(network, cap, False, links, thin=False)
    record.update(levels=len(thinned.link), full_levels=len(full.link))
    tick = time.process_time()
    record["flow_cost"] = flow_cost_bound(network, thinned, packets, 1.0, 600.0)
    record["flow_cost_s"] = time.process_time() - tick
    routed = min_delay_on_support(network, continuous, gap=CHECK_GAP)
    capacity = network.queue_capacity(continuous)
    slack = capacity - network.queue_load(routed.design.arc_flow(network))
    marginal = np.divide(capacity, slack ** 2, out=np.zeros_like(slack), where=slack > 0)
    for label, levels, target in (("ray_thinned", thinned, math.inf), ("ray_full", full, math.inf),
                                  ("polyak_full", full, incumbent)):
        if math.isfinite(target) or label != "polyak_full":
            tick = time.process_time()
            record[label] = lagrangian_bound(network, levels, t_max, marginal, target=target).value
            record[label + "_s"] = time.process_time() - tick
    tick = time.process_time()
    record["ascent"], record["ascent_lambda"] = ascent(network, full, t_max, 2 * record["flow_cost"], steps)
    record["ascent_s"] = time.process_time() - tick
    record["ascent_steps"] = steps
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", nargs="+", required=True)
    parser.add_argument("--work", type=Path, required=True, help="folder of design_scale.py's instance files")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--delay-scale", type=float, default=1.0, help="T_max = this x the installed delay")
    parser.add_argument("--incumbents", type=Path, help="design_scale.py results: each instance's design cost")
    args = parser.parse_args()
    costs = {} if args.incumbents is None else {
        r["instance"]: r["objective"] for r in json.loads(args.incumbents.read_text())["records"] if r.get("objective")}
    for name in args.instances:
        print(json.dumps(probe(name, args.work, args.steps, args.delay_scale, costs.get(name, math.inf))), flush=True)


if __name__ == "__main__":
    main()
