"""Benchmark design problems at planning scale, before (another code tree, e.g. main) and after.

Usage (from the repository root; ``../shared/benchmarks`` must sit next to the repository)::

    python benchmarks/design_scale.py --before ../main --time-limit 120
    python benchmarks/design_scale.py --instances germany50 --problems modular --time-limit 120
    python benchmarks/design_scale.py --report benchmarks/results/design_scale_*.json   # tables only

Instances: SNDlib files converted by the bundled-instance rule (``instances/convert_sndlib.py``),
and Topology Zoo networks from ``topohub`` (``zoo:Name``) with great-circle lengths, a gravity
traffic matrix (node masses 1, total ``ZOO_TOTAL_BPS``), capacities sized to standard line rates
at 50 % min-hop utilisation and SNDlib-like modules (``ZOO_MODULES``: 1, 10 and 40 Gbit/s, cost
per km falling with size).  They are written once as native JSON, so both trees solve the very
same files.

Problems (the bundled cards, ``solver.time_limit_s`` set to the limit):

* ``modular`` -- ``modular-capacity``: design from scratch, min cost s.t. T ≤ the installed
  network's min-delay delay, MIP gap 1 %;
* ``pure-cost`` -- the same without a delay bound (``constraints.max_delay_s`` = 1e6 s: only
  F < C), SNDlib's own problem up to its routing costs and pre-installed capacities;
* ``min-power`` -- ``earp-min-power`` (method milp, core-router profile, T_max = 1.5 × the
  all-on min delay).

Each (tree, instance, problem) runs in its own process (``PYTHONPATH`` = the tree), one after
the other.  Reported: status, objective, bound, gap, time (``time_s``: the whole ``solve`` call,
with its imports; ``solve_time_s``: the solver's own clock, which the time limit counts), the time at which the best design was
first within 5, 2 and 1 % of the bound then proven (from the solver's per-round history: a MILP
round is one HiGHS run, so progress inside a round is not seen), the shared checker's verdict
and, for the designs, the delay bound re-evaluated by certified min-delay routing on the
design's capacities (last column: the design's own routing meets T_max / the certified
min-delay routing on its links does).  Results: ``benchmarks/results/design_scale_*.json``,
printed as Markdown.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SNDLIB = ROOT.parent / "shared" / "benchmarks" / "sndlib"
DEFAULT_INSTANCES = ("abilene", "nobel-us", "geant", "nobel-germany", "germany50", "zoo:Dfn")
PROBLEMS = {
    "modular": ("modular-capacity", ()),
    "pure-cost": ("modular-capacity", ("constraints.max_delay_s=1e6",)),
    "min-power": ("earp-min-power", ()),
}
ZOO_TOTAL_BPS = 100e9
ZOO_MODULES = ((1e9, 1.0), (10e9, 5.0), (40e9, 14.0))  # (capacity bit/s, cost per 100 km)
GAPS = (0.05, 0.02, 0.01)
CERTIFY_GAP = 1e-9


def _converter():
    spec = importlib.util.spec_from_file_location("convert_sndlib", ROOT / "instances" / "convert_sndlib.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.convert


def zoo_network(name: str):
    """A Topology Zoo network (topohub) with lengths, gravity demands, sized capacities, modules."""
    import dataclasses

    import networkx as nx
    import topohub

    from topo_opt.algorithms.baselines import min_hop_routing
    from topo_opt.io.zoo import network_from_graph
    from topo_opt.model.network import Module
    from topo_opt.model.synthesis import gravity_demands, size_capacities, with_lengths_from_coordinates
    from topo_opt.model.validation import replace_network

    graph = nx.Graph(nx.node_link_graph(topohub.get(f"topozoo/{name}"), edges="edges"))
    graph = graph.subgraph(max(nx.connected_components(graph), key=len)).copy()
    for node, data in graph.nodes(data=True):  # topohub gives [lon, lat] in "pos"
        if "pos" in data and "Longitude" not in data:
            data["Longitude"], data["Latitude"] = data["pos"]
    network = network_from_graph(graph, f"topohub:topozoo/{name}", name, "topohub", {}, lambda *a: None, 1e9)
    network = with_lengths_from_coordinates(network, overwrite=True)
    network = gravity_demands(network, ZOO_TOTAL_BPS, seed=0)
    routing = min_hop_routing(network)
    network = size_capacities(network, routing.arc_flow(network.demand_rate, network.n_arcs))
    links = tuple(dataclasses.replace(link, modules=tuple(
        Module(capacity=c, cost=round(k * max(link.length_m, 1e4) / 1e5, 3)) for c, k in ZOO_MODULES))
        for link in network.links)
    return replace_network(network, links=links)


def prepare(name: str, folder: Path) -> Path:
    from topo_opt.io.detect import write_instance

    path = folder / f"{name.replace(':', '-')}.json"
    if not path.exists():
        network = zoo_network(name[4:]) if name.startswith("zoo:") else _converter()(SNDLIB / f"{name}.txt")
        write_instance(network, path)
    return path


def time_to(history: list[dict], gap: float, final_gap: float) -> float | None:
    """First history time with gap ≤ ``gap`` (None if never)."""
    for record in history:
        if record.get("gap") is not None and record["gap"] <= gap:
            return record["time_s"]
    return None


def _include_fixed_delay(card) -> bool:
    """The card's include_fixed_delay, wherever this tree's card keeps it (default true)."""
    for key in ("objective.include_fixed_delay", "delay.include_fixed_delay"):
        try:
            return card.get(key) is not False
        except KeyError:
            continue
    return True


def worker(path: str, problem: str, time_limit_s: float) -> dict:
    """Solve one instance with the tree on ``sys.path``; the record as a dict."""
    import numpy as np

    from topo_opt.io.detect import read_instance
    from topo_opt.solve.cards import load_card
    from topo_opt.evaluators.design_check import check_result
    from topo_opt.solve.dispatch import solve
    from topo_opt.algorithms.support_routing import min_delay_on_support

    network = read_instance(path)
    card_name, overrides = PROBLEMS[problem]
    root = Path(sys.modules["topo_opt"].__file__).resolve().parents[1]
    card = load_card(root / "models" / f"{card_name}.toml", (f"solver.time_limit_s={time_limit_s}",) + overrides)
    tick = time.perf_counter()
    result = solve(network, card)
    elapsed = time.perf_counter() - tick
    record = {"nodes": network.n_nodes, "links": network.n_links, "demands": network.n_demands,
              "status": result.status.value, "objective": result.objective, "bound": result.lower_bound,
              "gap": result.gap, "time_s": elapsed, "solve_time_s": result.solve_time_s,
              "iterations": result.iterations,
              "history": [{k: r.get(k) for k in ("time_s", "objective", "lower_bound", "gap")}
                          for r in result.history]}
    details = result.details or {}
    record.update({k: details.get(k) for k in ("levels", "lp_columns", "lp_rows", "cut_sets", "starting_design",
                                               "installed_cost", "max_delay_s", "average_delay_s",
                                               "listed_levels_bound", "flow_cost_bound", "detour_bound")})
    if problem == "min-power":
        from topo_opt.solve.cards import node_power_profiles
        from topo_opt.solve.dispatch import card_delay_bound_s
        record["check"] = check_result(network, result, power=node_power_profiles(network, card), rtol=1e-6)
        t_max = card_delay_bound_s(network, card)
    else:
        record["check"] = check_result(network, result)
        t_max = None if problem == "pure-cost" else details.get("max_delay_s")
    if result.design is not None and t_max is not None:
        capacity = np.asarray(result.design.link_capacity, float)
        if result.design.link_on is not None:
            capacity = np.where(result.design.link_on, capacity, 0.0)
        certified = min_delay_on_support(network, capacity, gap=CERTIFY_GAP,
                                         include_fixed_delay=_include_fixed_delay(card))
        record.update(max_delay_s=t_max, certified_delay_s=certified.objective,
                      certified_meets=bool(certified.objective <= t_max * (1 + 1e-7)))
    return record


def run(tree: Path, path: Path, problem: str, time_limit_s: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    tick = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, __file__, "--worker", str(path), problem, str(time_limit_s)],
                              env=env, capture_output=True, text=True, timeout=time_limit_s * 3 + 600)
    except subprocess.TimeoutExpired:
        return {"status": "error: no answer", "time_s": time.perf_counter() - tick}
    if done.returncode != 0:
        return {"status": f"error: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}",
                "time_s": time.perf_counter() - tick}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt(value, spec: str) -> str:
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else format(value, spec)


def table(records: list[dict]) -> str:
    lines = ["| problem | instance | code | status | objective | bound | gap | time (s) | to 5 % | to 2 % | to 1 % | "
             "rounds | checker | T ≤ T_max: design / links |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        reached = [_fmt(time_to(r.get("history", []), g, r.get("gap")), ".0f") for g in GAPS]
        certified = "–" if "certified_meets" not in r else "{} / {}".format(
            "ok" if r["average_delay_s"] <= r["max_delay_s"] * (1 + 1e-6) else "no",
            "ok" if r["certified_meets"] else "no")
        check = "–" if "check" not in r else ("ok" if not r["check"] else "; ".join(r["check"])[:60])
        lines.append(f"| {r['problem']} | {r['instance']} | {r['code']} | {r['status'][:50]} | "
                     f"{_fmt(r.get('objective'), '.6g')} | {_fmt(r.get('bound'), '.6g')} | "
                     f"{_fmt(r.get('gap'), '.2%')} | {_fmt(r.get('time_s'), '.0f')} | " + " | ".join(reached)
                     + f" | {_fmt(r.get('iterations'), 'd')} | {check} | {certified} |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], sys.argv[3], float(sys.argv[4])), default=str))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--report":
        print(table([r for name in sys.argv[2:] for r in json.loads(Path(name).read_text())["records"]]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", nargs="+", default=list(DEFAULT_INSTANCES))
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), choices=list(PROBLEMS))
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--before", type=Path, default=None, help="code tree of the 'before' runs (e.g. ../main)")
    parser.add_argument("--after", type=Path, default=ROOT, help="code tree of the 'after' runs (default: this one)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/design_scale"), help="folder for the instance files")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "design_scale.json")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from topo_opt.io.atomic import atomic_write_text

    args.work.mkdir(parents=True, exist_ok=True)
    trees = ([("before", args.before.resolve())] if args.before else []) + [("after", args.after.resolve())]
    records = []
    for name in args.instances:
        path = prepare(name, args.work)
        for problem in args.problems:
            for code, tree in trees:
                record = {"instance": name, "problem": problem, "code": code} | run(tree, path, problem, args.time_limit)
                records.append(record)
                print(json.dumps({k: v for k, v in record.items() if k != "history"}, default=str), flush=True)
                atomic_write_text(args.output, json.dumps({
                    "settings": {k: v.name if isinstance(v, Path) else str(v) for k, v in vars(args).items()}, "machine": platform.platform(),
                    "load_average": os.getloadavg(), "records": records}, indent=1, default=str) + "\n")
    print(table(records))


if __name__ == "__main__":
    main()
