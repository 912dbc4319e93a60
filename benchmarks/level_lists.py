"""How much the modular MILP's bound loses to thinned level lists (issue 18, "levels generated lazily").

Usage (from the repository root; ``../shared/benchmarks`` must sit next to the repository)::

    python benchmarks/level_lists.py --instances nobel-germany germany50 --milp-s 60

For each instance (prepared as in ``design_scale.py``, the ``modular-capacity`` card from scratch:
T_max = the installed network's min-delay delay) the MILP of ``solve/modular_capacity.py`` is
built twice (``design_load.modular_setup`` / ``modular_model``), with the same cut-set rows:

* ``thin`` -- the solver's lists (at most ``MAX_LEVELS_PER_LINK`` per link, focused on the
  continuous design), each level priced at ``CapacityLevels.bound_cost``: the relaxation over
  every module combination whose bound the solver reports;
* ``full`` -- every Pareto level of every link at its own cost (the same problem, exactly).

Reported per list: levels, build + load time, the LP relaxation (interior point) and its time,
and the MILP's bound after ``--milp-s`` seconds of HiGHS from no start (one run each: noisy).
A lazily generated list lies between the two: its LP bound is at most the ``full`` one.
Results: ``benchmarks/results/level_lists.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def measure(name: str, work: Path, full: bool, milp_s: float) -> dict:
    import pyomo.environ as pyo

    from design_load import modular_model, modular_setup
    from design_scale import prepare
    from topo_opt.io.detect import read_instance
    from topo_opt.model.costs import capacity_levels
    from topo_opt.solve.highs import HighsOptions, HighsSolver

    network = read_instance(prepare(name, work))
    setup = modular_setup(network, "modular", time.perf_counter() + 60.0)
    levels = capacity_levels(network, 2 * network.total_demand, False, setup["links"],
                             target_capacity=setup["continuous"], thin=not full)

    def held(relaxed: bool) -> HighsSolver:
        model = modular_model(network, levels, setup)
        if relaxed:
            pyo.TransformationFactory("core.relax_integer_vars").apply_to(model)
        solver = HighsSolver(model, HighsOptions(mip_rel_gap=0.01))
        if not full:
            solver.change_coefficients(model.level_on, levels.bound_cost)
        return solver

    tick = time.perf_counter()
    relaxation = held(relaxed=True)
    record = {"instance": name, "list": "full" if full else "thin", "levels": len(levels.link),
              "build_load_s": time.perf_counter() - tick}
    lp = relaxation.solve(time_limit_s=600.0, algorithm="ipm")
    record |= {"lp_status": lp.message, "lp_bound": lp.objective, "lp_s": lp.time_s}
    milp = held(relaxed=False).solve(time_limit_s=milp_s)
    return record | {"milp_s": milp_s, "milp_status": milp.message, "milp_bound": milp.bound,
                     "milp_objective": milp.objective, "load_average": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", nargs="+", default=["nobel-germany", "germany50"])
    parser.add_argument("--milp-s", type=float, default=60.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/level_lists"), help="folder for the instance files")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "level_lists.json")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    records = []
    for name in args.instances:
        for full in (False, True):
            records.append(measure(name, args.work, full, args.milp_s))
            print(json.dumps(records[-1]), flush=True)
            args.output.write_text(json.dumps({"milp_s": args.milp_s, "machine": platform.platform(),
                                               "records": records}, indent=1) + "\n")


if __name__ == "__main__":
    main()
