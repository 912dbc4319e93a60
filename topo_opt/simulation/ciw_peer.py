"""The same queueing network simulated by Ciw (Palmer et al. 2019), an independent peer.

Used by the tests (the two simulators agree within their confidence intervals) and by
``benchmarks/simulation.py`` (speed ratio).  Each queue is a Ciw node with one server and
exponential service at μ_q = C_q/L̄ (lengths redrawn at every hop, as Ciw draws a service time
per visit); each path is a customer class arriving at the node of its first queue at rate
fraction × λ_k and following its path (``ciw.routing.ProcessBased``).  Processing and
propagation delays are not modelled: compare times in queue.  Needs ``pip install ciw``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from topo_opt.errors import SolverUnavailableError
from topo_opt.model.design import Design
from topo_opt.model.network import Network
from topo_opt.simulation.confidence import mean_interval
from topo_opt.simulation.simulator import queue_capacity


@dataclass(frozen=True)
class CiwResult:
    """Mean time in queue per arc (s) with CI half-widths over replications, and the cost
    (packet-hops simulated, CPU seconds)."""

    arc_queue_delay_s: np.ndarray
    half_width_s: np.ndarray
    packet_hops: int
    seconds: float


def simulate_ciw(network: Network, design: Design, duration_s: float, replications: int = 3,
                 warmup: float = 0.1, seed: int = 0, level: float = 0.95) -> CiwResult:
    """Simulate ``duration_s`` seconds per replication with Ciw.

    Packets that arrive in the first or the last ``warmup`` fraction of the time are left out
    (Ciw records a visit when its service ends, so the last arrivals would be only the quick ones).

    Raises
    ------
    SolverUnavailableError
        Ciw is not installed.
    """
    try:
        import ciw
    except ImportError as exc:
        raise SolverUnavailableError("the Ciw cross-check needs ciw: pip install ciw") from exc
    routing = design.routing
    per_unit = network.packets_per_rate_unit
    mu = queue_capacity(network, design) * per_unit
    path_rate = routing.path_rates(network.demand_rate) * per_unit
    used = [p for p in range(routing.n_paths) if path_rate[p] > 0]
    n_q = network.n_queues
    arrivals, services, routes = {}, {}, {}
    for c, p in enumerate(used):
        queues = network.arc_queue[routing.path_arcs(p)]
        name = f"Class {c}"
        arrivals[name] = [ciw.dists.Exponential(path_rate[p]) if q == queues[0] else None for q in range(n_q)]
        services[name] = [ciw.dists.Exponential(m) if m > 0 else None for m in mu]
        rest = [int(q) + 1 for q in queues[1:]]
        routes[name] = ciw.routing.ProcessBased(lambda ind, sim, rest=rest: list(rest))
    model = ciw.create_network(arrival_distributions=arrivals, service_distributions=services,
                               routing=routes, number_of_servers=[1] * n_q)
    # arc of (class, node): the class's path crosses the node's queue once (loop-free paths)
    arc_of = {(f"Class {c}", int(network.arc_queue[a]) + 1): int(a) for c, p in enumerate(used) for a in routing.path_arcs(p)}
    means = np.full((replications, network.n_arcs), np.nan)
    hops, started = 0, time.process_time()
    for r in range(replications):
        ciw.seed(seed + r)
        sim = ciw.Simulation(model)
        sim.simulate_until_max_time(duration_s)
        total, count = np.zeros(network.n_arcs), np.zeros(network.n_arcs)
        for rec in sim.get_all_records():
            if rec.record_type != "service" or rec.node < 1:
                continue
            hops += 1
            if warmup * duration_s <= rec.arrival_date < (1 - warmup) * duration_s:
                a = arc_of[(rec.customer_class, rec.node)]
                total[a] += rec.waiting_time + rec.service_time
                count[a] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            means[r] = total / count
    mean, half = mean_interval(means, level)
    return CiwResult(mean, half, hops, time.process_time() - started)
