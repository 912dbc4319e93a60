"""The rounded cut-set rows of formulations/cut_sets.py on every node set: each holds for every
design that meets T_max (by enumeration) and is no weaker than its Chvátal–Gomory rounding."""
import itertools

import numpy as np
import pytest
from conftest import level_choices_meeting
from test_modular_capacity import small_tcfa

from topo_opt.algorithms.capacity_flow_assignment import min_fixed_delay_s
from topo_opt.evaluators.delay import capacity_per_load
from topo_opt.formulations.cut_sets import _module_sizes, cut_requirements, rounded_row
from topo_opt.model import Demand, Link, Module, Node, build_network
from topo_opt.model.costs import capacity_levels


def two_module_ring():
    """Four nodes in a ring, two module types (4 for 3, 10 for 6), packet/s."""
    modules = (Module(capacity=4.0, cost=3.0), Module(capacity=10.0, cost=6.0))
    nodes = [Node(n) for n in "ABCD"]
    links = [Link(f"{a}{b}", a, b, 0.0, modules=modules) for a, b in ("AB", "BC", "CD", "DA")]
    demands = [Demand("A-C", "A", "C", 5.0), Demand("B-D", "B", "D", 3.0), Demand("C-A", "C", "A", 2.0)]
    return build_network(name="ring4", nodes=nodes, links=links, demands=demands, rate_unit="packet/s")


CASES = [(small_tcfa, 0.45, True, 20.0), (small_tcfa, 0.3, True, 20.0), (small_tcfa, 0.2, True, 20.0),
         (two_module_ring, 1.0, False, 14.0), (two_module_ring, 0.4, False, 14.0)]


@pytest.mark.parametrize("build, t_max, keep_installed, cap", CASES)
def test_every_rounded_row_holds_for_every_design_meeting_t_max(build, t_max, keep_installed, cap):
    """All node sets, both directions, every module capacity as divisor: the MIR row holds at
    every choice of levels whose certified min-delay T ≤ T_max, so no row cuts off the
    enumerated optimum; and each row is no weaker than its Chvátal–Gomory rounding."""
    network = build()
    levels = capacity_levels(network, cap, keep_installed)
    packets = network.total_packet_rate * (t_max - min_fixed_delay_s(network, False))
    factor, sizes, links = capacity_per_load(1.0, packets), _module_sizes(levels, network.n_links), np.unique(levels.link)
    rows = []
    for members in itertools.product([False, True], repeat=network.n_nodes):
        inside = np.array(members)
        if 0 < inside.sum() < network.n_nodes:
            for crossing, demand in cut_requirements(network, inside, links):
                need = demand * factor
                for divisor in np.unique(np.concatenate([sizes[l] for l in crossing] + [[]])).tolist():
                    row = rounded_row(levels, crossing, need, divisor)
                    chvatal = np.ceil(levels.capacity[row.level] / divisor - 1e-9)
                    assert np.all(row.coefficient <= chvatal + 1e-12)
                    rows.append(row)
    assert any(row.rhs >= 2 for row in rows)
    feasible = 0
    for picked in level_choices_meeting(network, levels, t_max, include_fixed_delay=False):
        feasible += 1
        y = np.zeros(len(levels.link))
        y[picked] = 1.0
        assert max(row.rhs - float(row.coefficient @ y[row.level]) for row in rows) <= 1e-9
    assert feasible > 0
