"""Where the detour bound of modular design from scratch reaches (issue 18, a probe).

For each SNDlib instance (the files of ``design_scale.py``), with T_max the installed network's
min-delay delay as in the ``modular-capacity`` card and levels from scratch as
``solve_modular_capacity`` builds them: how close T_max lies to the propagation floor
((T_max − floor)/T_max), the flow-cost bound
(:func:`~topo_opt.algorithms.min_cost_routing.flow_cost_bound`) and the detour bound
(:func:`~topo_opt.algorithms.detour_bound.detour_bound`, with its CPU seconds).  Both are valid
over every module combination; the solve reports the larger (and the MILP's, when higher).

Usage: ``python benchmarks/detour_bound.py --work /tmp/ds [--instances pdh nobel-us ...]``
(``PYTHONPATH`` = the tree; default every SNDlib file); prints one JSON line per instance.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from design_scale import SNDLIB, prepare

from topo_opt.algorithms.capacity_flow_assignment import min_fixed_delay_s
from topo_opt.algorithms.detour_bound import detour_bound
from topo_opt.algorithms.min_cost_routing import flow_cost_bound
from topo_opt.io.detect import read_instance
from topo_opt.model.costs import capacity_levels
from topo_opt.solve.modular_capacity import installed_delay_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", nargs="+", default=sorted(p.stem for p in SNDLIB.glob("*.txt")))
    parser.add_argument("--work", type=Path, default=Path("/tmp/design_scale"), help="folder for the instance files")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    for name in args.instances:
        network = read_instance(prepare(name, args.work))
        t_max = installed_delay_s(network)
        floor = min_fixed_delay_s(network)
        levels = capacity_levels(network, 2 * network.total_demand, keep_installed=False)
        flow_cost = flow_cost_bound(network, levels, network.total_packet_rate * (t_max - floor), 1.0, 60.0)
        tick = time.process_time()
        detour = detour_bound(network, levels.unit_price(network.n_links), t_max)
        print(json.dumps({"instance": name, "nodes": network.n_nodes, "links": network.n_links,
                          "slack_above_floor": (t_max - floor) / t_max, "flow_cost_bound": flow_cost,
                          "detour_bound": detour, "detour_cpu_s": time.process_time() - tick}), flush=True)


if __name__ == "__main__":
    main()
