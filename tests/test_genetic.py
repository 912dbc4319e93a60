"""GA: reproducibility, enumerated optimum, vectorised fitness against the evaluators."""
import math

import numpy as np
import pytest

from topo_opt.algorithms.ga_fitness import (
    CompositeFitness, DelayFitness, PENALTY_UTILIZATION, PowerFitness, RejectionFitness,
)
from topo_opt.algorithms.genetic import GAOptions, PathPool, population_arc_flows, run_ga
from topo_opt.algorithms.path_enumeration import all_simple_paths
from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.composite import CompositeWeights, composite_goal
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.evaluators.power import PowerProfile, network_power
from topo_opt.evaluators.security import path_rejection
from topo_opt.io.detect import read_instance
from topo_opt.model import Node
from topo_opt.model.design import Design
from topo_opt.model.result import Status
from topo_opt.model.validation import replace_network
from topo_opt.solve.cards import load_card
from topo_opt.evaluators.design_check import check_result
from topo_opt.solve.dispatch import solve

from single_path_cases import SIX, enumerate_optimum, small_loaded

PROFILE = PowerProfile("p", chassis_w=400.0, port_w=80.0, load_shape="cubic",
                       load_w_per_gbps=2.0, reference_capacity_bps=1e9)


def test_ga_finds_the_enumerated_optimum():
    net = small_loaded()
    best, n_routings = enumerate_optimum(net)
    assert math.isfinite(best) and n_routings > 1000
    result = run_ga(net, DelayFitness(net, net.queue_capacity()),
                    GAOptions(population=30, generations=300, stagnation=100, time_limit_s=None, seed=4))
    assert result.status is Status.FEASIBLE
    assert result.objective == pytest.approx(best, rel=1e-12)
    assert check_result(net, result) == []


def test_same_seed_same_result_and_callback_per_generation():
    net = read_instance("instances/abilene.json")
    options = GAOptions(population=20, generations=25, stagnation=0, time_limit_s=None, seed=11)
    seen = []
    runs = [run_ga(net, DelayFitness(net, net.queue_capacity()), options, callback=seen.append)
            for _ in range(2)]
    a, b = runs
    assert a.objective == b.objective
    assert np.array_equal(a.design.routing.arcs, b.design.routing.arcs)
    assert [h["objective"] for h in a.history] == [h["objective"] for h in b.history]
    assert a.details["seed"] == 11 and a.details["generations"] == 25
    assert a.details["evaluations"] == 25 * 20
    assert len(seen) == 50 and [r["iteration"] for r in seen[:25]] == list(range(1, 26))
    assert all(x["objective"] >= y["objective"] for x, y in zip(a.history, a.history[1:]))
    assert check_result(net, a) == []


def _random_population(net, fitness, n, rng):
    pool = PathPool(net, fitness)
    paths = all_simple_paths(net, 1000)
    genes = np.array([[pool.add(k, p[rng.integers(len(p))]) for k, p in enumerate(paths)]
                      for _ in range(n)])
    matrix, cost = pool.refresh()
    return pool, genes, population_arc_flows(genes, matrix, net.demand_rate), cost


def test_delay_fitness_matches_the_objective_and_penalises_overload():
    net = small_loaded()
    fitness = DelayFitness(net, net.queue_capacity())
    pool, genes, flow, cost = _random_population(net, fitness, 60, np.random.default_rng(0))
    value, penalised = fitness.evaluate(flow, cost[genes].sum(axis=1))
    objective = DelayObjective.for_network(net)
    for i in range(len(genes)):
        routing = pool.routing(genes[i])
        assert np.allclose(flow[i], routing.arc_flow(net.demand_rate, net.n_arcs))
        assert value[i] == pytest.approx(objective.value(flow[i]), rel=1e-12)
    load = np.array([net.queue_load(f) for f in flow])
    util = (load / net.queue_capacity()).max(axis=1)
    calm = util <= PENALTY_UTILIZATION
    saturated = util >= 1
    assert calm.any() and saturated.any()
    assert np.allclose(penalised[calm], value[calm], rtol=1e-12)
    assert np.all(np.isinf(value[saturated])) and np.all(np.isfinite(penalised))
    assert penalised[saturated].min() > value[calm].max()


def test_power_fitness_equals_network_power_of_its_design():
    net = read_instance("instances/nobel-us.json")
    fitness = PowerFitness(net, net.queue_capacity(), profiles=PROFILE)
    pool, genes, flow, cost = _random_population(net, fitness, 8, np.random.default_rng(1))
    genes[0] = genes[1]  # a population may repeat individuals
    flow[0] = flow[1]
    flow[2] *= 0.0       # and an empty routing switches every link off
    value, _ = fitness.evaluate(flow, cost[genes].sum(axis=1))
    assert value[2] == pytest.approx(PROFILE.chassis_w * len(set(net.demand_source) | set(net.demand_target)))
    for i in (0, 1, 3, 4, 5, 6, 7):
        design = fitness.design(pool.routing(genes[i]))
        assert value[i] == pytest.approx(network_power(net, design, PROFILE).total_w, rel=1e-12)
        link_flow = np.bincount(net.arc_link, weights=flow[i], minlength=net.n_links)
        assert np.array_equal(design.link_on, link_flow > 0)  # idle links are switched off


def test_rejection_fitness_is_the_rate_weighted_path_rejection():
    net = replace_network(SIX, nodes=tuple(Node(n.id, n.longitude, n.latitude, insecurity=float(i))
                                  for i, n in enumerate(SIX.nodes)))
    fitness = RejectionFitness(net, net.queue_capacity())
    pool, genes, flow, cost = _random_population(net, fitness, 6, np.random.default_rng(2))
    value, _ = fitness.evaluate(flow, cost[genes].sum(axis=1))
    for i in range(len(genes)):
        rej = path_rejection(net, pool.routing(genes[i])).demand_sum
        assert value[i] == pytest.approx(float(net.demand_rate @ rej) / net.total_demand, rel=1e-12)


def test_composite_fitness_equals_the_composite_evaluator():
    net = read_instance("instances/nobel-us.json")
    fitness = CompositeFitness(net, net.queue_capacity(), profiles=PROFILE,
                               weights=CompositeWeights(1.0, 2.0, 0.5))
    pool, genes, flow, cost = _random_population(net, fitness, 3, np.random.default_rng(3))
    fitness.set_routings([pool.routing(g) for g in genes])
    value, _ = fitness.evaluate(flow, cost[genes].sum(axis=1))
    for i in range(len(genes)):
        goal = composite_goal(net, Design.for_network(net, pool.routing(genes[i])), fitness.weights, PROFILE)
        assert value[i] == pytest.approx(goal.total, rel=1e-12)


@pytest.mark.parametrize("name", ["delay", "power", "rejection", "composite"])
def test_ga_card_runs_every_fitness_and_passes_the_checker(name):
    net = read_instance("instances/nobel-us.json")
    card = load_card("models/ga.toml", (f'objective.name="{name}"', "ga.generations=15",
                                        "ga.population=12"))
    result = solve(net, card)
    assert result.status is Status.FEASIBLE and result.method == "ga"
    assert check_result(net, result) == []
    if name == "delay":
        assert result.details["lower_bound_source"].startswith("splittable")
        assert 0 <= result.gap < 0.05
    else:
        assert result.details["lower_bound_source"] == "none" and math.isinf(result.gap)


def test_bad_options_name_the_parameter():
    net = SIX
    with pytest.raises(InvalidInputError, match="ga.mutation_rate"):
        run_ga(net, DelayFitness(net, net.queue_capacity()), GAOptions(mutation_rate=1.5))
    with pytest.raises(InvalidInputError, match="ga.elite"):
        run_ga(net, DelayFitness(net, net.queue_capacity()), GAOptions(population=4, elite=4))
    with pytest.raises(InvalidInputError, match="objective.name"):
        load_card("models/ga.toml", ('objective.name="speed"',))


def test_overloaded_everywhere_gives_no_design():
    net = replace_network(SIX, demands=tuple(d.__class__(d.id, d.source, d.target, 10 * d.rate * 1e3)
                                    for d in SIX.demands))
    result = run_ga(net, DelayFitness(net, net.queue_capacity()),
                    GAOptions(population=6, generations=3, stagnation=0, time_limit_s=None))
    assert result.status is Status.ITERATION_LIMIT and result.design is None
    assert "overloads" in result.message
    assert check_result(net, result) == ["no design"]
