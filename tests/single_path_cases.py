"""Small single-path instances with their optimum by enumeration (shared by GA and MILP tests)."""
import itertools
import math

import numpy as np

from topo_opt.algorithms.path_operators import all_simple_paths
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.io.detect import read_instance
from topo_opt.model.design import Routing
from topo_opt.model.validation import replace_network

SIX = read_instance("instances/six-node.json")


def small_loaded():
    """Six-node with 5 demands scaled so that the path choice matters (closed to enumeration)."""
    net = replace_network(SIX, demands=SIX.demands[:5])
    peak = net.link_capacity.min()
    return replace_network(net, demands=tuple(d.__class__(d.id, d.source, d.target, 0.45 * peak)
                                     for d in net.demands))


def enumerate_optimum(network):
    """Least T over every single-path routing, by brute force."""
    paths = all_simple_paths(network, 1000)
    objective = DelayObjective.for_network(network)
    best = math.inf
    for combo in itertools.product(*paths):
        flow = Routing.from_paths((k, p, 1.0) for k, p in enumerate(combo)).arc_flow(
            network.demand_rate, network.n_arcs)
        best = min(best, objective.value(flow))
    return best, int(np.prod([len(p) for p in paths]))
