"""Benchmark the packet simulator: speed against Ciw, numba compile time, and how wrong Kleinrock's
delay model is on real networks (``topo-opt simulate``, issue 15).

Usage (the SNDlib topologies come from the collection found by ``benchmarks/external.py``)::

    python benchmarks/simulation.py --set speed        # packet-hops/s, topo-opt and Ciw in the same run
    python benchmarks/simulation.py --set compile      # numba first-call compile and cache-load time
    python benchmarks/simulation.py --set validate     # Kleinrock vs simulation at max utilisation 0.3/0.6/0.9
    python benchmarks/simulation.py --set all

* ``speed`` -- min-delay designs of the bundled instances; topo-opt simulates ``--packets``
  packets (one replication, redrawn lengths) and reports packet-hops per CPU second of the event
  loop and of the whole call (set-up and statistics included) -- CPU time, so that the numbers
  hold on a shared machine; Ciw (``topo_opt.simulation.ciw_peer``)
  simulates the same network for the time ``--ciw-packets`` packets take, and its packet-hops per
  CPU second (records included) give the ratio.
* ``compile`` -- a fresh process with an empty ``NUMBA_CACHE_DIR``: the first ``simulate`` call
  (compilation), then a second process with that cache (loading), each minus a second call.
* ``validate`` -- each instance's demands scaled until its min-delay routing has the target max
  utilisation (fixed-point on the scale, 6 rounds), min-delay routing re-solved at that scale,
  then simulated with redrawn and with kept exponential lengths (``--replications`` x
  ``--packets``; the default one replication with 10 batch means pays the warm-up once, which
  matters on geant: twice its longest path delay is ~10⁷ packets there).  The error is (Kleinrock − simulation)/simulation, on the end-to-end mean T and
  on its queueing part (Kleinrock N/γ against the simulated time in queues per packet), with
  the 95 % CI of the simulation.

Instances: the bundled six-node, abilene, geant, nobel-us, and SNDlib germany50 and cost266
converted by the bundled-instance rule (``instances/convert_sndlib.py``).  Results go to
``benchmarks/results/simulation_<set>.json`` and are printed as Markdown.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from external import collection, sndlib_converter  # noqa: E402
from topo_opt.evaluators.metrics import evaluate_design  # noqa: E402
from topo_opt.io.atomic import atomic_write_text  # noqa: E402
from topo_opt.io.detect import read_instance  # noqa: E402
from topo_opt.model.synthesis import scale_demands  # noqa: E402
from topo_opt.simulation import PacketLengths, SimulationOptions, simulate  # noqa: E402
from topo_opt.solve.cards import load_card  # noqa: E402
from topo_opt.solve.dispatch import solve  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
BUNDLED = ("six-node", "abilene", "geant", "nobel-us")
REAL = ("germany50", "cost266")
UTILIZATIONS = (0.3, 0.6, 0.9)


def load(name: str):
    if name in BUNDLED:
        return read_instance(ROOT / "instances" / f"{name}.json")
    return sndlib_converter()(collection("sndlib", f"{name}.txt"))


def min_delay(network):
    return solve(network, load_card(ROOT / "models" / "min-delay.toml"))


def at_utilization(network, target: float, rounds: int = 6):
    """Demands scaled so that the min-delay routing's max utilisation is ``target``."""
    scale = 1.0
    for _ in range(rounds):
        scaled = scale_demands(network, scale)
        scale *= target / evaluate_design(scaled, min_delay(scaled).design).max_utilization
    scaled = scale_demands(network, scale)
    return scaled, min_delay(scaled)


# ----------------------------------------------------------------------------- speed
def run_speed(args) -> list[dict]:
    from topo_opt.simulation.ciw_peer import simulate_ciw

    rows = []
    for name in args.instances or BUNDLED:
        network = load(name)
        design = min_delay(network).design
        simulate(network, design, SimulationOptions(packets=1000, replications=1))  # compiled/loaded
        started = time.process_time()
        ours = simulate(network, design, SimulationOptions(packets=args.packets, replications=1))
        cpu = time.process_time() - started
        row = {"instance": name, "packets": args.packets, "packet_hops": ours.packet_hops,
               "engine_cpu_s": ours.engine_cpu_s, "call_cpu_s": cpu, "wall_s": ours.wall_time_s,
               "hops_per_s": ours.packet_hops_per_s, "hops_per_s_call": ours.packet_hops / cpu}
        if name in args.ciw:
            duration = args.ciw_packets / network.total_packet_rate
            peer = simulate_ciw(network, design, duration, replications=1)
            row.update(ciw_packet_hops=peer.packet_hops, ciw_cpu_s=peer.seconds,
                       ciw_hops_per_s=peer.packet_hops / peer.seconds,
                       ratio=ours.packet_hops_per_s / (peer.packet_hops / peer.seconds))
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    return rows


def speed_markdown(rows: list[dict]) -> str:
    out = ["| instance | packet-hops | event loop CPU (s) | M packet-hops/s (loop) | M packet-hops/s (whole call) "
           "| wall (s) | Ciw packet-hops | Ciw CPU (s) | Ciw k packet-hops/s | ratio |", "|---" * 10 + "|"]
    for r in rows:
        ciw = (f"{r['ciw_packet_hops']} | {r['ciw_cpu_s']:.2f} | {r['ciw_hops_per_s'] / 1e3:.1f} | {r['ratio']:.0f}x"
               if "ratio" in r else "— | — | — | —")
        out.append(f"| {r['instance']} | {r['packet_hops']} | {r['engine_cpu_s']:.2f} | {r['hops_per_s'] / 1e6:.2f} "
                   f"| {r['hops_per_s_call'] / 1e6:.2f} | {r['wall_s']:.2f} | {ciw} |")
    return "\n".join(out)


# ----------------------------------------------------------------------------- compile
_PROBE = """
import time
t0 = time.perf_counter()
from topo_opt.io.detect import read_instance
from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.model.design import Design
from topo_opt.simulation import simulate, SimulationOptions
net = read_instance("instances/six-node.json")
d = Design.for_network(net, min_hop_routing(net))
t1 = time.perf_counter(); simulate(net, d, SimulationOptions(packets=1000, replications=1))
t2 = time.perf_counter(); simulate(net, d, SimulationOptions(packets=1000, replications=1))
t3 = time.perf_counter()
print(t2 - t1 - (t3 - t2))
"""


def run_compile(args) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
        for label in ("first call, empty cache (compile)", "first call, warm cache (load)"):
            proc = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True,
                                  text=True, check=True)
            rows.append({"case": label, "seconds": float(proc.stdout.strip())})
            print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def compile_markdown(rows: list[dict]) -> str:
    return "\n".join(["| case | extra time of the first simulate call (s) |", "|---|---|"]
                     + [f"| {r['case']} | {r['seconds']:.2f} |" for r in rows])


# ----------------------------------------------------------------------------- validate
def run_validate(args) -> list[dict]:
    rows = []
    for name in args.instances or BUNDLED + REAL:
        base = load(name)
        for target in UTILIZATIONS:
            network, solved = at_utilization(base, target)
            for kind in ("redrawn", "kept"):
                result = simulate(network, solved.design, SimulationOptions(
                    packets=args.packets, replications=args.replications, lengths=PacketLengths(kind),
                    seed=args.seed))
                sim, half = float(result.network_delay.mean[0]), float(result.network_delay.half_width[0])
                model = result.network_kleinrock_delay_s
                queue = result.network_queueing
                q_sim, q_half, q_model = float(queue.mean[0]), float(queue.half_width[0]), float(queue.model[0])
                row = {"instance": name, "target_utilization": target,
                       "max_utilization": result.kleinrock.max_utilization, "lengths": kind,
                       "kleinrock_s": model, "simulated_s": sim, "half_width_s": half,
                       "error": (model - sim) / sim, "within_ci": bool(abs(model - sim) <= half),
                       "kleinrock_queueing_s": q_model, "simulated_queueing_s": q_sim,
                       "queueing_half_width_s": q_half, "queueing_error": (q_model - q_sim) / q_sim,
                       "queueing_ci_relative": q_half / q_sim,
                       "queueing_within_ci": bool(abs(q_model - q_sim) <= q_half),
                       "packets_measured": int(result.demand_offered.sum()),
                       "warmup_packets": result.warmup_used, "hops_per_s": result.packet_hops_per_s}
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
    return rows


def validate_markdown(rows: list[dict]) -> str:
    out = ["| instance | max util | lengths | Kleinrock T (s) | simulated T (s) ± 95 % CI | error of T "
           "| Kleinrock time in queues (s) | simulated ± 95 % CI | error ± CI | in CI |", "|---" * 10 + "|"]
    for r in rows:
        out.append(f"| {r['instance']} | {r['max_utilization']:.2f} | {r['lengths']} | {r['kleinrock_s']:.6g} "
                   f"| {r['simulated_s']:.6g} ± {r['half_width_s']:.2g} | {100 * r['error']:+.2f} % "
                   f"| {r['kleinrock_queueing_s']:.4g} | {r['simulated_queueing_s']:.4g} ± {r['queueing_half_width_s']:.2g} "
                   f"| {100 * r['queueing_error']:+.2f} % ± {100 * r['queueing_ci_relative']:.2f} % "
                   f"| {'yes' if r['queueing_within_ci'] else 'no'} |")
    return "\n".join(out)


SETS = {"speed": (run_speed, speed_markdown), "compile": (run_compile, compile_markdown),
        "validate": (run_validate, validate_markdown)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=(*SETS, "all"), default="speed")
    parser.add_argument("--instances", nargs="*", default=None)
    parser.add_argument("--packets", type=int, default=None,
                        help="per replication (default 4 000 000)")
    parser.add_argument("--replications", type=int, default=1,
                        help="validate: replications (1: batch means; the warm-up is paid once)")
    parser.add_argument("--ciw", nargs="*", default=["six-node", "abilene"], help="instances Ciw also runs")
    parser.add_argument("--ciw-packets", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    for name in SETS if args.set == "all" else (args.set,):
        run, markdown = SETS[name]
        args_for = argparse.Namespace(**vars(args))
        if args.packets is None:
            args_for.packets = 4_000_000
        rows = run(args_for)
        args.output.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.output / f"simulation_{name}.json", json.dumps(rows, indent=1) + "\n")
        print(f"\n### {name}\n\n{markdown(rows)}\n")


if __name__ == "__main__":
    main()
