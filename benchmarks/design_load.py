"""Time the set-up of the modular design MILP: build, cut sets, load into HiGHS, and the start.

Usage (from the repository root; instance files as written by ``design_scale.py --work``)::

    python benchmarks/design_load.py /tmp/ds/giul39.json /tmp/ds/ta2.json --problems pure-cost modular
    python benchmarks/design_load.py /tmp/ds/giul39.json --start --profile /tmp/giul39.prof

Per (instance, problem), in this process with the tree on ``PYTHONPATH``: the phases of
``solve_modular_capacity`` up to the MILP, each timed on its own (wall s): the continuous design,
the level lists, ``build_modular_capacity_model``, ``add_cut_set_inequalities``,
``HighsSolver(model)`` (Pyomo's hand-over to HiGHS), the model's rows and columns, and with
``--start`` the pure-cost / modular starting design (``_starting_design``, at the deadline a
``--time-limit`` solve gives it).  ``--profile`` writes cProfile statistics of the whole run.
Problems as in ``design_scale.py``: ``modular`` (T ≤ the installed network's min delay) and
``pure-cost`` (T ≤ 1e6 s), both from scratch.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import time


def modular_setup(network, problem: str, deadline: float) -> dict:
    """What ``solve_modular_capacity`` computes before its model, for a design from scratch: the
    links, T_max (``problem``: "modular" the installed network's min delay, "pure-cost" 1e6 s),
    the propagation floor and the continuous design (by ``deadline``, a ``perf_counter`` value)."""
    import numpy as np

    from topo_opt.algorithms.capacity_flow_assignment import continuous_design, min_fixed_delay_s
    from topo_opt.solve import modular_capacity as mc

    links = np.array([i for i, link in enumerate(network.links) if link.installed], dtype=np.int64)
    max_delay_s = 1e6 if problem == "pure-cost" else mc.installed_delay_s(network)
    continuous, source = continuous_design(network, links, "min-cost", max_delay_s, None, True,
                                           deadline - time.perf_counter(), mc.CHECK_GAP)
    return {"links": links, "max_delay_s": max_delay_s, "floor_s": min_fixed_delay_s(network, True),
            "continuous": continuous, "source": source}


def modular_model(network, levels, setup: dict):
    """The solver's MILP for ``levels`` (min-cost, T ≤ ``setup["max_delay_s"]``) with its cut-set rows."""
    from topo_opt.formulations.cut_sets import add_cut_set_inequalities
    from topo_opt.formulations.modular_capacity_milp import build_modular_capacity_model

    gamma = network.total_packet_rate
    model = build_modular_capacity_model(network, levels, sense="min-cost", max_packets=gamma * setup["max_delay_s"])
    add_cut_set_inequalities(model, network, max_queue_packets=gamma * (setup["max_delay_s"] - setup["floor_s"]))
    return model


def phases(path: str, problem: str, start: bool, time_limit_s: float) -> dict:
    """The timed set-up phases of one solve (see the module docstring)."""
    from topo_opt.formulations.cut_sets import add_cut_set_inequalities
    from topo_opt.formulations.modular_capacity_milp import build_modular_capacity_model
    from topo_opt.io.detect import read_instance
    from topo_opt.model.costs import capacity_levels
    from topo_opt.solve import modular_capacity as mc
    from topo_opt.solve.highs import HighsOptions, HighsSolver, model_size

    network = read_instance(path)
    cap, gamma = 2.0 * network.total_demand, network.total_packet_rate
    record, began = {"instance": path, "problem": problem}, time.perf_counter()
    deadline = began + (1 - mc.FLOW_BOUND_SHARE) * time_limit_s

    def timed(name, call):
        tick = time.perf_counter()
        value = call()
        record[f"{name}_s"] = round(time.perf_counter() - tick, 3)
        return value

    setup = timed("continuous", lambda: modular_setup(network, problem, deadline))
    links, max_delay_s = setup["links"], setup["max_delay_s"]
    levels = timed("levels", lambda: capacity_levels(network, cap, False, links, target_capacity=setup["continuous"]))
    model = timed("build", lambda: build_modular_capacity_model(
        network, levels, sense="min-cost", max_packets=gamma * max_delay_s))
    timed("cut_sets", lambda: add_cut_set_inequalities(
        model, network, max_queue_packets=gamma * (max_delay_s - setup["floor_s"])))
    timed("load", lambda: HighsSolver(model, HighsOptions(mip_rel_gap=0.01)))
    record.update(model_size(model), levels=len(levels.link))
    if start:
        kept, log = mc._Incumbent(), {}
        timed("start", lambda: mc._starting_design(
            network, levels, model, links, setup["continuous"], setup["source"] == "cfa", max_delay_s, 1.0, True,
            False, False, None, cap, time_limit_s, deadline, kept, log))
        record.update(start_cost=kept.cost, start_phases={k: v for k, v in log.items() if isinstance(v, (int, float))})
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("instances", nargs="+", help="native instance files")
    parser.add_argument("--problems", nargs="+", default=["pure-cost", "modular"], choices=["pure-cost", "modular"])
    parser.add_argument("--start", action="store_true", help="also time the starting design")
    parser.add_argument("--time-limit", type=float, default=120.0, help="of the solve whose start is timed (s)")
    parser.add_argument("--profile", help="write cProfile statistics here")
    args = parser.parse_args()
    profile = cProfile.Profile() if args.profile else None
    for path in args.instances:
        for problem in args.problems:
            if profile:
                profile.enable()
            record = phases(path, problem, args.start, args.time_limit)
            if profile:
                profile.disable()
            print(json.dumps(record, default=str), flush=True)
    if profile:
        profile.dump_stats(args.profile)


if __name__ == "__main__":
    main()
