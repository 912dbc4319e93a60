"""Every capability on real topologies the code was not written against ("general, not tuned").

Eight topohub graphs that are not among the repository's fixtures or bundled instances: five
Topology Zoo networks of 20–68 nodes, two Gabriel graphs (25 and 50 nodes, planar points, no
lengths) and one SNDlib network (pioro40).  Each is read as ``topohub:KEY`` (gravity demands,
links sized for 50 % under min-hop routing; :mod:`topo_opt.io.topohub`) at two loads: that
sized load, and the demands scaled to ~0.95 of the maximum concurrent flow (U* ≈ 0.95, bracketed
by :func:`topo_opt.algorithms.max_concurrent_flow.find_feasible_flow`'s primal and dual bounds).

Checked through the front door (:func:`topo_opt.solve.dispatch.solve` with the bundled
``min-delay`` card, or the command line in-process):

* min-delay by path equilibration and by gradient projection: both optimal, the shared checker
  passes, and each one's certified lower bound is below the other's objective;
* ``evaluate``: the metrics of the solution reproduce its objective, no link saturated;
* ``evaluate --worst-case``: every analysis is finite or reports itself unbounded;
* (slow) ``simulate`` of the min-delay design at low load (demands × 0.3, every rate × 10⁻³ so
  queueing matters against propagation): Kleinrock's delay within the simulation's 95 % CI;
* (slow) ``measure``: synthetic counters of the sized load → ``measure rates`` → ``measure tm``
  (tomogravity) recovers the demands; its relative error is reported and bounded.  On three
  small graphs and on Latnet (68 nodes, 4556 demands: 84 s in a dense bounded least-squares
  solve before tomogravity became a sparse trust-region solve, about 7 s of CPU now).
"""
import functools
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from topo_opt.algorithms.max_concurrent_flow import find_feasible_flow
from topo_opt.solve.instance_loader import read_network
from topo_opt.cli.main import cli
from topo_opt.errors import InfeasibleError
from topo_opt.io.detect import read_instance, write_instance
from topo_opt.measure.synthetic import scaled_instance, synthetic_counters
from topo_opt.measure.traffic_matrix import relative_error
from topo_opt.model.result import Status
from topo_opt.model.synthesis import scale_demands
from topo_opt.solve.cards import load_card
from topo_opt.evaluators.design_check import check_result
from topo_opt.solve.dispatch import solve

pytest.importorskip("topohub", reason="topohub is not installed (pip install -e '.[test]')")

KEYS = ("topozoo/Internode", "topozoo/Arnes", "topozoo/Bellcanada", "topozoo/Surfnet",
        "topozoo/Latnet", "gabriel/25/3", "gabriel/50/7", "sndlib/pioro40")
LOADS = ("sized", "0.95-max-flow")
NEAR_CAPACITY = 0.95
METHODS = ("path-equilibration", "gradient-projection")


def max_utilization_bracket(network, rounds: int = 10, rtol: float = 0.01) -> tuple[float, float]:
    """[U_low, U_up] ∋ U*, the least max utilisation, to ``rtol``: each round asks
    :func:`find_feasible_flow` about the demands scaled to put the bracket's middle at 1; it
    answers with a routing (U_up) or an infeasibility proof (U_low), both on U*."""
    start = find_feasible_flow(network)
    low, high = start.max_utilization_lower_bound, start.max_utilization_upper_bound
    for _ in range(rounds):
        if high <= low * (1 + rtol):
            break
        scale = 2.0 / (low + high)
        try:
            found = find_feasible_flow(scale_demands(network, scale))
            high = min(high, found.max_utilization_upper_bound / scale)
            low = max(low, found.max_utilization_lower_bound / scale)
        except InfeasibleError as proof:
            low = max(low, proof.details["max_utilization_lower_bound"] / scale)
    return low, high


@functools.lru_cache(maxsize=None)
def instance(key: str, load: str):
    network = read_network(f"topohub:{key}", "auto")
    if load == "sized":
        return network
    low, high = max_utilization_bracket(network)
    assert high <= low * 1.01, (key, low, high)
    return scale_demands(network, NEAR_CAPACITY / high)


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("unseen")


def instance_file(folder, key: str, load: str):
    path = folder / f"{key.replace('/', '-')}-{load}.json"
    if not path.exists():
        write_instance(instance(key, load), path)
    return path


@pytest.mark.parametrize("load", LOADS)
@pytest.mark.parametrize("key", KEYS)
def test_min_delay_methods_agree_and_pass_the_checker(key, load):
    network = instance(key, load)
    results = {}
    for method in METHODS:
        card = load_card("min-delay", (f'solver.method="{method}"', "solver.gap=1e-6", "solver.time_limit_s=60"))
        result = solve(network, card)
        assert result.method == method and result.status is Status.OPTIMAL, (method, result.message)
        assert result.gap <= 1e-6
        assert check_result(network, result) == [], method
        results[method] = result
    for a in METHODS:
        for b in METHODS:
            assert results[a].lower_bound <= results[b].objective * (1 + 1e-9), (a, b)


@pytest.mark.parametrize("load", LOADS)
@pytest.mark.parametrize("key", KEYS)
def test_evaluate_and_worst_case_on_the_solution(key, load, folder):
    path = instance_file(folder, key, load)
    solution, evaluation = folder / f"{path.stem}-sol.json", folder / f"{path.stem}-eval.json"
    invoke("solve", path, "--model", "min-delay", "--out", solution)
    invoke("evaluate", path, solution, "--worst-case", "--out", evaluation)
    sol, ev = json.loads(solution.read_text()), json.loads(evaluation.read_text())
    metrics = ev["metrics"]
    assert metrics["average_delay_s"] == pytest.approx(sol["objective"], rel=1e-9)
    assert not metrics["saturated"] and metrics["loss"] == 0
    assert 0 < metrics["mean_utilization"] <= metrics["max_utilization"] < 1
    assert metrics["average_delay_s"] <= metrics["max_demand_delay_s"]
    for name, analysis in ev["worst_case"]["methods"].items():
        if analysis["bounded"]:
            assert math.isfinite(analysis["max_delay_s"]) and analysis["max_delay_s"] > 0, name
        else:
            assert analysis["message"], name  # unbounded is a result that says why


@pytest.mark.slow
@pytest.mark.parametrize("key", KEYS)
def test_simulated_delay_of_the_min_delay_design_agrees_with_kleinrock(key, folder):
    path = folder / f"{key.replace('/', '-')}-low.json"
    write_instance(scaled_instance(scale_demands(instance(key, "sized"), 0.3), 1e-3), path)
    solution, simulation = folder / f"{path.stem}-sol.json", folder / f"{path.stem}-sim.json"
    invoke("solve", path, "--model", "min-delay", "--out", solution)
    invoke("simulate", path, solution, "--packets", "2e4", "--replications", "3", "--out", simulation)
    net = json.loads(simulation.read_text())["network"]
    assert net["kleinrock_delay_s"] == pytest.approx(json.loads(solution.read_text())["objective"], rel=1e-9)
    # 3 replications: a t(2) 95 % interval; over 8 networks one would fall outside it by chance a
    # third of the time, so the check is two half-widths (a 1 % model error is ~1 half-width here)
    assert abs(net["model_delay_s"] - net["mean_delay_s"]) <= 2 * net["ci_half_width_s"], \
        (net["mean_delay_s"], net["ci_half_width_s"], net["model_delay_s"])


#: tomogravity's relative error on the synthetic quarter day was 0.006–0.025 on all eight graphs
#: (truth and prior are both gravity models; the error is the 10 % noise and the daily profile)
TM_ERROR_BOUND = 0.1
MEASURE_KEYS = ("topozoo/Internode", "topozoo/Arnes", "gabriel/25/3", "topozoo/Latnet")


@pytest.mark.slow
@pytest.mark.parametrize("key", MEASURE_KEYS)
def test_measure_round_trip_recovers_the_demands(key, folder):
    network = instance(key, "sized")
    truth = synthetic_counters(network, days=0.25, seed=0)
    counters, rates = folder / f"{key.replace('/', '-')}-counters.csv", folder / f"{key.replace('/', '-')}-rates.csv"
    counters.write_text(truth.csv)
    invoke("measure", "rates", counters, "--out", rates)
    estimated = folder / f"{key.replace('/', '-')}-tm.json"
    invoke("measure", "tm", f"topohub:{key}", rates, "--routing", "min-hop", "--out", estimated)
    result = read_instance(estimated)
    assert result.metadata["demand_estimate"]["method"] == "tomogravity"
    rate = dict(zip((d.id for d in result.demands), result.demand_rate))
    estimate = np.array([rate.get(d.id, 0.0) for d in network.demands])
    error = relative_error(estimate, truth.demand_mean)
    print(f"{key}: tomogravity relative error {error:.4f}")
    assert error < TM_ERROR_BOUND, error
