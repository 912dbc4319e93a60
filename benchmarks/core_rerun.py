"""What the min-delay core changed in the what-if sweep and in modular design (issue 13).

Both run min-delay routing through one function, ``min_delay_on_support`` (the what-if once or
twice per scenario, modular design once per round and for its checks).  This script runs the
two in a given code tree (``--tree``: this repository, or an older snapshot made with ``git
archive``), each task in its own process with ``PYTHONPATH`` = the tree and one thread, and
reports the task's time together with the number of routing solves and the time spent in them,
so that what the core changed is seen apart from the MILP.

``--core pe`` puts path equilibration in place of gradient projection inside
``min_delay_on_support`` for that run only (a benchmark patch of the module attribute; path
equilibration's own hand-over near capacity still reaches gradient projection).

Tasks:

* ``whatif`` -- ``run_whatif`` without upgrades on germany50 (SNDlib, bundled-instance rule):
  the intact network and every single link failure at demand scales 1 and 1.25 (178 scenarios),
  T_max = the installed delay;
* ``whatif-upgrade`` -- the README's abilene example (scales 1–3, two failures, T_max 13.9 ms),
  with the upgrade MILP, ``--time-limit`` per scenario;
* ``modular`` -- the ``modular-capacity`` card on abilene, geant and germany50 (design from
  scratch, T ≤ the installed delay, MIP gap 1 %), ``--time-limit`` per design.

Usage::

    python benchmarks/core_rerun.py --tree . --label after [--core pe] [--tasks whatif modular] [--time-limit 60]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
WORK = Path("/tmp/core_rerun")
TASKS = {"whatif": ("germany50",), "whatif-upgrade": ("abilene",), "modular": ("abilene", "geant", "germany50")}


def instance_file(name: str) -> Path:
    """The bundled instance of that name, else the SNDlib network converted by the
    bundled-instance rule, written once as native JSON (so every tree solves the same file)."""
    bundled = HERE.parent / "instances" / f"{name}.json"
    if bundled.is_file():
        return bundled
    from external import collection, sndlib_converter
    from topo_opt.io.detect import write_instance

    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"{name}.json"
    if not path.exists():
        write_instance(sndlib_converter()(collection("sndlib", f"{name}.txt")), str(path))
    return path


def patch_routing(core: str) -> dict:
    """Count and time every ``min_delay_on_support`` call of the what-if and modular modules;
    with ``core == "pe"`` route by path equilibration inside it."""
    import topo_opt.algorithms.gradient_projection as gp
    import topo_opt.solve.modular_capacity as modular
    import topo_opt.solve.whatif as whatif

    stats = {"routing_calls": 0, "routing_s": 0.0}
    original = modular.min_delay_on_support

    def timed(*args, **kwargs):
        tick = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            stats["routing_calls"] += 1
            stats["routing_s"] += time.perf_counter() - tick

    modular.min_delay_on_support = whatif.min_delay_on_support = timed
    if core == "pe":
        from topo_opt.algorithms.path_equilibration import solve_min_delay_pe

        own, inside = gp.solve_min_delay_gp, [False]

        def equilibrate(*args, **kwargs):
            if inside[0]:  # path equilibration handing over near capacity
                return own(*args, **kwargs)
            inside[0] = True
            try:
                return solve_min_delay_pe(*args, **kwargs)
            finally:
                inside[0] = False

        gp.solve_min_delay_gp = equilibrate
    return stats


def worker(task: str, name: str, core: str, time_limit_s: float) -> dict:
    """One task on one instance, with the tree on ``sys.path``."""
    from topo_opt.io.detect import read_instance
    from topo_opt.model.scenarios import scenario_grid
    from topo_opt.solve.cards import load_card

    stats = patch_routing(core)
    network = read_instance(str(instance_file(name)))
    tick = time.perf_counter()
    if task.startswith("whatif"):
        from topo_opt.solve.whatif import WhatIfOptions, run_whatif

        upgrade = task == "whatif-upgrade"
        overrides = ("constraints.max_delay_s=0.0139",) if upgrade else ()
        options = WhatIfOptions.from_card(load_card("modular-capacity", overrides), time_limit_s=time_limit_s,
                                          upgrades=upgrade)
        scales, failures = ((1.0, 2.0, 3.0), ["ATLAng_HSTNng", "ATLAM5_ATLAng"]) if upgrade else \
            ((1.0, 1.25), ["each-link"])
        result = run_whatif(network, scenario_grid(network, scales, failures), options)
        records = result.records
        record = {"scenarios": len(records),
                  "feasible": sum(r["status"] == "feasible" for r in records),
                  "upgrades": {s: sum(r["upgrade_status"] == s for r in records)
                               for s in {r["upgrade_status"] for r in records}},
                  "sum_delay_s": sum(r["average_delay_s"] for r in records if r["status"] == "feasible"),
                  "upgrade_cost": sum(r["upgrade_cost"] or 0 for r in records if r["upgrade_cost"] == r["upgrade_cost"]),
                  "slowest_scenario_s": max(r["solve_time_s"] for r in records)}
    else:
        from topo_opt.solve.dispatch import solve

        card = load_card("modular-capacity", (f"solver.time_limit_s={time_limit_s}",))
        result = solve(network, card)
        record = {"status": result.status.value, "objective": result.objective, "bound": result.lower_bound,
                  "gap": result.gap, "rounds": result.iterations}
    record.update(time_s=time.perf_counter() - tick, **stats)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=HERE.parent)
    parser.add_argument("--label", default="after")
    parser.add_argument("--core", choices=("gp", "pe"), default="gp")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "core_rerun.json")
    parser.add_argument("--worker", nargs=2, metavar=("TASK", "INSTANCE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, args.core, args.time_limit), default=float))
        return
    sys.path.append(str(HERE.parent))  # this repository writes the instance files
    for name in {n for task in args.tasks for n in TASKS[task]}:
        instance_file(name)
    env = dict(os.environ, PYTHONPATH=str(args.tree.resolve()), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    doc = json.loads(args.output.read_text()) if args.output.exists() else {"records": []}
    for task in args.tasks:
        for name in TASKS[task]:
            load = os.getloadavg()[0]
            done = subprocess.run([sys.executable, __file__, "--worker", task, name, "--core", args.core,
                                   "--time-limit", str(args.time_limit)], env=env, capture_output=True, text=True)
            record = (json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else
                      {"error": (done.stderr.strip().splitlines() or ["?"])[-1]})
            record.update(task=task, instance=name, label=args.label, core=args.core, load_average=load,
                          time_limit_s=args.time_limit, date=time.strftime("%Y-%m-%d %H:%M:%S"))
            doc["records"].append(record)
            args.output.write_text(json.dumps(doc, indent=1, default=float) + "\n")
            print(json.dumps(record, default=float), flush=True)


if __name__ == "__main__":
    main()
