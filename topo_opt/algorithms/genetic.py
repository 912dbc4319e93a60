"""Genetic algorithm for single-path routing with path crossover (Cognitive Packet Network style).

An individual gives every demand one loop-free path, as an index into a shared, growing pool of
paths per demand; a population is an integer matrix ``genes`` (P × demands).  Per generation
(models.md §6; Gelenbe, Liu and Lainé, IEEE Trans. SMC-B 36(6), 2006):

1. **fitness** of all individuals at once from the arc-flow matrix F = S M (one sparse product,
   :mod:`topo_opt.algorithms.ga_fitness`); saturated individuals are penalised, not dropped;
2. **elitism** -- the ``elite`` best individuals pass unchanged;
3. **tournament selection** of two parents per child (best of ``tournament`` random ones);
4. **crossover** -- with probability ``crossover_rate`` the child takes each demand's path from
   either parent (uniform); where the parents' paths differ, with probability
   ``path_crossover_rate`` it gets a child of the two paths instead, swapped at a common node
   with loops removed (:func:`~topo_opt.algorithms.path_operators.crossover`);
5. **mutation** -- each path is, with probability ``mutation_rate``, given a random loop-free
   sub-path (:func:`~topo_opt.algorithms.path_operators.mutate`), and, with probability
   ``guided_rate``, replaced by its shortest path under the marginal costs of the current best
   individual (for the delay, the first derivative lengths of Fratta, Gerla and Kleinrock 1973);
   the guided move is skipped by objectives without marginal costs.

The initial pool holds each demand's shortest path under the objective's base arc weights, its
min-hop path, up to ``k_shortest`` shortest loop-free paths (Yen) and ``random_paths``
randomised shortest paths; the first two individuals take the shortest and the min-hop paths,
the others random pool paths.  It stops after ``generations`` generations, at the time limit, or
after ``stagnation`` generations without improvement.  All randomness comes from
``numpy.random.default_rng(seed)``: the same seed gives the same result.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.sparse as sp

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.algorithms.ga_fitness import PopulationFitness
from topo_opt.algorithms.path_enumeration import k_shortest_paths
from topo_opt.algorithms.path_operators import crossover, mutate, randomised_shortest_paths
from topo_opt.algorithms.shortest_paths import ArcGraph, demand_shortest_paths, shortest_path_forest
from topo_opt.errors import InvalidInputError
from topo_opt.model.design import Routing
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, Status, relative_gap

Callback = Callable[[dict], None]


@dataclass(frozen=True)
class GAOptions:
    """Parameters of the GA (the ``[ga]`` section of ``models/ga.toml``).

    Attributes
    ----------
    population : int
        Individuals per generation (≥ 2).
    generations : int
        Maximum number of generations.
    time_limit_s : float or None
        Wall-clock limit (s).
    stagnation : int
        Stop after this many generations without a better best individual (0: never).
    elite, tournament : int
        Individuals kept unchanged; tournament size.
    crossover_rate, path_crossover_rate, mutation_rate, guided_rate : float
        Probabilities in [0, 1] (see the module docstring).
    k_shortest, random_paths : int
        Paths per demand in the initial pool.
    seed : int
    """

    population: int = 40
    generations: int = 1000
    time_limit_s: float | None = 30.0
    stagnation: int = 200
    elite: int = 2
    tournament: int = 3
    crossover_rate: float = 0.9
    path_crossover_rate: float = 0.1
    mutation_rate: float = 0.01
    guided_rate: float = 0.02
    k_shortest: int = 3
    random_paths: int = 4
    seed: int = 0

    def validate(self) -> None:
        """Raise InvalidInputError naming the first bad parameter."""
        for name in ("crossover_rate", "path_crossover_rate", "mutation_rate", "guided_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InvalidInputError(f"ga.{name} must be in [0, 1], got {value!r}")
        if self.population < 2:
            raise InvalidInputError(f"ga.population must be >= 2, got {self.population}")
        if not 0 <= self.elite < self.population:
            raise InvalidInputError(f"ga.elite must be in [0, population), got {self.elite}")
        if self.tournament < 1:
            raise InvalidInputError(f"ga.tournament must be >= 1, got {self.tournament}")


class PathPool:
    """Distinct loop-free paths of every demand, with their 0/1 path–arc matrix M.

    Paths are appended, never removed, so an index stays valid for the whole run; the arc
    arrays serve the path operators, and :meth:`refresh` adds the new ones to the pool's
    :class:`~topo_opt.model.design.Routing` (every fraction 1), from which individuals are cut.
    """

    def __init__(self, network: Network, fitness: PopulationFitness):
        self.network = network
        self.fitness = fitness
        self.demand: list[int] = []
        self.paths: list[np.ndarray] = []
        self.by_demand: list[list[int]] = [[] for _ in range(network.n_demands)]
        self._index: list[dict[bytes, int]] = [{} for _ in range(network.n_demands)]
        self._all = Routing(np.zeros(0, np.int64), np.zeros(0), np.zeros(1, np.int64), np.zeros(0, np.int64))
        self._matrix = self._all.incidence(network.n_arcs)
        self._cost = np.zeros(0)

    def __len__(self) -> int:
        return len(self.paths)

    def add(self, k: int, arcs: np.ndarray) -> int:
        """Index of path ``arcs`` of demand ``k``, appended if new."""
        key = np.asarray(arcs, dtype=np.int64).tobytes()
        index = self._index[k].get(key)
        if index is None:
            index = self._index[k][key] = len(self.paths)
            self.demand.append(k)
            self.paths.append(np.asarray(arcs, dtype=np.int64))
            self.by_demand[k].append(index)
        return index

    def add_csr(self, indptr: np.ndarray, arcs: np.ndarray) -> np.ndarray:
        """Add one path per demand given in CSR layout (demand order); their indices."""
        return np.array([self.add(k, arcs[indptr[k]:indptr[k + 1]])
                         for k in range(self.network.n_demands)], dtype=np.int64)

    def routing(self, indices: np.ndarray) -> Routing:
        """The single-path routing of pool paths ``indices`` (fraction 1 each)."""
        self.refresh()
        return self._all.select(np.asarray(indices, dtype=np.int64))

    def refresh(self) -> tuple[sp.csr_matrix, np.ndarray]:
        """M (pool paths × arcs) and each path's additive fitness cost, extended to new paths."""
        old = self._all.n_paths
        if len(self.paths) > old:
            new = Routing.from_paths((self.demand[i], self.paths[i], 1.0) for i in range(old, len(self.paths)))
            every = self._all
            self._all = Routing(np.concatenate([every.demand, new.demand]), np.ones(len(self.paths)),
                                np.concatenate([every.indptr, every.indptr[-1] + new.indptr[1:]]),
                                np.concatenate([every.arcs, new.arcs]))
            self._matrix = self._all.incidence(self.network.n_arcs)
            cost = self.fitness.path_cost(new)
            self._cost = np.concatenate([self._cost, np.zeros(new.n_paths) if cost is None else cost])
        return self._matrix, self._cost


def population_arc_flows(genes: np.ndarray, matrix: sp.csr_matrix, rate: np.ndarray) -> np.ndarray:
    """F (P × arcs, rate unit) of a population: S M with S[i, genes[i, k]] = r_k."""
    n_pop, n_dem = genes.shape
    chosen = sp.csr_matrix((np.tile(rate, n_pop), genes.ravel(), np.arange(0, n_pop * n_dem + 1, n_dem)),
                           shape=(n_pop, matrix.shape[0]))
    return (chosen @ matrix).toarray()


class _Search:
    """The state of one GA run (population, pool, best individual) and its operators."""

    def __init__(self, network: Network, fitness: PopulationFitness, options: GAOptions):
        self.network, self.fitness, self.options = network, fitness, options
        self.rng = np.random.default_rng(options.seed)
        self.graph = ArcGraph.from_network(network)
        self.base_weight = fitness.base_weight()
        self.pool = PathPool(network, fitness)
        self.evaluations = 0

    def initial_population(self) -> np.ndarray:
        net, opts, pool = self.network, self.options, self.pool
        forest = shortest_path_forest(self.graph, self.base_weight, net.demand_source)
        first = pool.add_csr(*demand_shortest_paths(forest, net))
        hop = min_hop_routing(net)
        second = pool.add_csr(hop.indptr, hop.arcs)
        if opts.k_shortest > 1:
            for k, paths in enumerate(k_shortest_paths(net, self.base_weight, opts.k_shortest)):
                for arcs in paths:
                    pool.add(k, arcs)
        for _ in range(opts.random_paths):
            pool.add_csr(*randomised_shortest_paths(net, self.graph, self.base_weight, self.rng))
        count = np.array([len(ids) for ids in pool.by_demand])
        offset = np.concatenate(([0], np.cumsum(count)[:-1]))
        flat = np.concatenate([np.asarray(ids) for ids in pool.by_demand])
        pick = (self.rng.random((opts.population, net.n_demands)) * count).astype(np.int64)
        genes = flat[offset + pick]
        genes[0] = first
        genes[1] = second
        return genes

    def evaluate(self, genes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(value, penalised, capacity-feasible, arc flows) of every individual."""
        matrix, cost = self.pool.refresh()
        flow = population_arc_flows(genes, matrix, self.network.demand_rate)
        if self.fitness.needs_routings:
            self.fitness.set_routings([self.pool.routing(row) for row in genes])
        value, penalised = self.fitness.evaluate(flow, cost[genes].sum(axis=1))
        self.evaluations += len(genes)
        feasible = ~self.fitness.violates_capacity(flow)
        return value, penalised, feasible, flow

    def guided_paths(self, best_flow: np.ndarray) -> np.ndarray | None:
        weight = self.fitness.marginal_weight(best_flow)
        if weight is None:
            return None
        forest = shortest_path_forest(self.graph, weight, self.network.demand_source)
        return self.pool.add_csr(*demand_shortest_paths(forest, self.network))

    def next_generation(self, genes: np.ndarray, penalised: np.ndarray,
                        guided: np.ndarray | None) -> np.ndarray:
        opts, rng, pool, net = self.options, self.rng, self.pool, self.network
        n_pop, n_dem = genes.shape
        n_child = n_pop - opts.elite
        elites = genes[np.argsort(penalised, kind="stable")[:opts.elite]]
        entrants = rng.integers(n_pop, size=(2, n_child, opts.tournament))
        parents = np.take_along_axis(entrants, np.argmin(penalised[entrants], axis=2)[..., None],
                                     axis=2)[..., 0]
        first, second = genes[parents[0]], genes[parents[1]]
        mixing = (rng.random(n_child) < opts.crossover_rate)[:, None]
        child = np.where(mixing & (rng.random((n_child, n_dem)) < 0.5), second, first)
        swap = mixing & (first != second) & (rng.random((n_child, n_dem)) < opts.path_crossover_rate)
        for i, k in zip(*np.nonzero(swap)):
            children = crossover(pool.paths[first[i, k]], pool.paths[second[i, k]],
                                 net.arc_tail, net.arc_head, rng)
            child[i, k] = pool.add(int(k), children[int(rng.integers(2))])
        for i, k in zip(*np.nonzero(rng.random((n_child, n_dem)) < opts.mutation_rate)):
            child[i, k] = pool.add(int(k), mutate(pool.paths[child[i, k]], self.graph,
                                                  self.base_weight, rng))
        moved = rng.random((n_child, n_dem)) < opts.guided_rate
        if guided is not None:
            child[moved] = np.broadcast_to(guided, child.shape)[moved]
        return np.vstack([elites, child])


def run_ga(network: Network, fitness: PopulationFitness, options: GAOptions = GAOptions(), *,
           lower_bound: float = -math.inf, lower_bound_source: str = "none",
           callback: Callback | None = None) -> SolveResult:
    """Single-path routing by the genetic algorithm of the module docstring.

    Parameters
    ----------
    network : Network
    fitness : PopulationFitness
        Delay, power, rejection or composite (:mod:`topo_opt.algorithms.ga_fitness`).
    options : GAOptions
    lower_bound : float
        A proven lower bound on the objective, if known (e.g. the splittable optimum for the
        delay); it makes the reported gap meaningful.
    lower_bound_source : str
        What ``lower_bound`` is, recorded in ``details``.
    callback : callable, optional
        Called after every generation with the history record {iteration (generation),
        time_s, objective (best capacity-feasible value), penalised, lower_bound, gap,
        evaluations}.

    Returns
    -------
    SolveResult
        ``Status.FEASIBLE`` with the best capacity-feasible individual (``method = "ga"``);
        ``Status.ITERATION_LIMIT`` without a design when every individual ever evaluated
        overloads a link.  ``details`` has seed, generations, evaluations, pool_paths,
        stop_reason and lower_bound_source.
    """
    start = time.perf_counter()
    options.validate()
    search = _Search(network, fitness, options)
    genes = search.initial_population()
    deadline = math.inf if options.time_limit_s is None else start + options.time_limit_s
    best_value, best_genes, best_penalised = math.inf, None, math.inf
    since_improvement = generation = 0
    history: list[dict[str, float]] = []
    while True:
        value, penalised, feasible, flow = search.evaluate(genes)
        generation += 1
        candidates = np.flatnonzero(feasible)
        if candidates.size:
            i = candidates[np.argmin(value[candidates])]
            if value[i] < best_value:
                best_value, best_genes = float(value[i]), genes[i].copy()
        leader = int(np.argmin(penalised))
        if penalised[leader] < best_penalised * (1 - 1e-12):
            best_penalised, since_improvement = float(penalised[leader]), 0
        else:
            since_improvement += 1
        record = {"iteration": generation, "time_s": time.perf_counter() - start,
                  "objective": best_value, "penalised": best_penalised,
                  "lower_bound": lower_bound, "evaluations": search.evaluations,
                  "gap": relative_gap(best_value, lower_bound)}
        history.append(record)
        if callback is not None:
            callback(record)
        if generation >= options.generations:
            stop = f"generation limit {options.generations}"
        elif time.perf_counter() >= deadline:
            stop = f"time limit {options.time_limit_s:g} s"
        elif options.stagnation and since_improvement >= options.stagnation:
            stop = f"no improvement in {options.stagnation} generations"
        else:
            genes = search.next_generation(genes, penalised, search.guided_paths(flow[leader]))
            continue
        break
    details = {"seed": options.seed, "generations": generation, "evaluations": search.evaluations,
               "pool_paths": len(search.pool), "stop_reason": stop,
               "lower_bound_source": lower_bound_source, "fitness": fitness.objective_name}
    elapsed = time.perf_counter() - start
    if best_genes is None:
        return SolveResult(Status.ITERATION_LIMIT, "ga", fitness.objective_name, fitness.objective_unit,
                           lower_bound=lower_bound, solve_time_s=elapsed, iterations=generation,
                           message=f"{stop}: every individual overloads a link", details=details,
                           history=history)
    design = fitness.design(search.pool.routing(best_genes))
    return SolveResult(Status.FEASIBLE, "ga", fitness.objective_name, fitness.objective_unit,
                       objective=best_value, lower_bound=lower_bound, design=design,
                       solve_time_s=elapsed, iterations=generation, message=stop, details=details,
                       history=history)
