"""Security-constrained routing: rerouting around an insecure node, infeasibility with the culprit."""
from pathlib import Path

import numpy as np
import pytest

from topo_opt.algorithms.gradient_projection import solve_min_delay_gp
from topo_opt.errors import InfeasibleError, InvalidInputError
from topo_opt.evaluators.security import path_rejection
from topo_opt.io.detect import read_instance
from topo_opt.model import Demand, Link, Node, build_network
from topo_opt.model.validation import replace_network
from topo_opt.solve.cards import load_card
from topo_opt.evaluators.design_check import check_result
from topo_opt.solve.dispatch import solve
from topo_opt.solve.secure_routing import solve_secure_max, solve_secure_sum

ROOT = Path(__file__).resolve().parents[1]


def _diamond(insecure_b=0.6):
    """a -> c via b (short) or via d (long); b insecure."""
    return build_network(
        name="diamond", nodes=[Node("a"), Node("b", insecurity=insecure_b), Node("c"), Node("d", insecurity=0.2)],
        links=[Link("ab", "a", "b", 1e9, length_m=1e5), Link("bc", "b", "c", 1e9, length_m=1e5),
               Link("ad", "a", "d", 1e9, length_m=1e6), Link("dc", "d", "c", 1e9, length_m=1e6)],
        demands=[Demand("ac", "a", "c", 3e8, demand_class="gold"), Demand("ab", "a", "b", 1e8)],
        packet_length_bits=8000.0)


def _nodes_used(net, routing):
    used = routing.fraction > 0
    return {net.nodes[n].id for p in np.flatnonzero(used) for n in net.arc_tail[routing.path_arcs(p)]}


def test_bound_reroutes_a_demand_around_the_insecure_node():
    net = _diamond()
    free = solve_min_delay_gp(replace_network(net, demands=net.demands[:1]), gap=1e-9)
    assert "b" in _nodes_used(net, free.design.routing)  # unconstrained: mostly via b
    net1 = replace_network(net, demands=net.demands[:1])
    for result in (solve_secure_max(net1, {"gold": 0.1}, max_rejection=0.3, gap=1e-9),
                   solve_secure_sum(net1, {"gold": 0.1}, max_rejection=0.3, form="sum")):
        assert _nodes_used(net1, result.design.routing) == {"a", "d"}
        assert result.objective > free.objective
        assert check_result(net1, result, security={"gold": 0.1}) == []
    # the exclusion is exact: the all-via-d routing is optimal for the pruned network
    only_d = solve_min_delay_gp(replace_network(net1, nodes=(net1.nodes[0], net1.nodes[2], net1.nodes[3]),
                                             links=net1.links[2:]), gap=1e-9)
    assert solve_secure_max(net1, {"gold": 0.1}, max_rejection=0.3, gap=1e-9).objective \
        == pytest.approx(only_d.objective, rel=1e-8)


def test_sum_bound_on_single_path_by_hand():
    net = replace_network(_diamond(insecure_b=0.25), demands=_diamond().demands[:1])
    # tolerance 0: r_sum via b = 0.25 (b), via d = 0.2 (d); bound 0.22 forces d
    result = solve_secure_sum(net, {}, max_rejection=0.22, form="sum")
    r = path_rejection(net, result.design.routing)
    assert r.path_sum.tolist() == pytest.approx([0.2])
    assert check_result(net, result, security={}) == []
    loose = solve_secure_sum(net, {}, max_rejection=0.3, form="sum")
    assert _nodes_used(net, loose.design.routing) == {"a", "b"}  # shorter, allowed


def test_infeasible_names_node_and_demand():
    net = _diamond()
    with pytest.raises(InfeasibleError, match=r"demand 'ab' has its target node 'b' with rejection 0.6 > bound 0.3"):
        solve_secure_max(net, {"gold": 0.5}, max_rejection=0.3)
    cut = replace_network(_diamond(), nodes=(Node("a"), Node("b", insecurity=0.6), Node("c"), Node("d", insecurity=0.9)),
                             demands=_diamond().demands[:1])
    with pytest.raises(InfeasibleError, match=r"demand 'ac' \('a' -> 'c'\) has no path avoiding nodes 'b', 'd'") as err:
        solve_secure_sum(cut, {}, max_rejection=0.5, form="sum")
    assert err.value.details["demand"] == "ac"


def test_bad_input():
    with pytest.raises(InvalidInputError, match="rejection form must be one of max, sum, got 'avg'"):
        solve_secure_sum(_diamond(), {}, form="avg")
    with pytest.raises(InvalidInputError, match="demand classes exclude different elements"):
        solve_secure_max(replace_network(_diamond(insecure_b=0.3), demands=(
            _diamond().demands[0], Demand("ac2", "a", "c", 1e8))), {"gold": 0.2}, max_rejection=0.05)


def test_card_with_node_insecurity_on_a_real_instance():
    net = read_instance(ROOT / "instances" / "abilene.json")
    hub = net.nodes[int(np.bincount(np.concatenate([net.link_source, net.link_target])).argmax())].id
    card = load_card(ROOT / "models" / "secure-min-delay.toml",
                     (f'security.node_insecurity = {{ "{hub}" = 0.8 }}', "security.max_rejection=0.5"))
    transit = replace_network(net, demands=tuple(d for d in net.demands if hub not in (d.source, d.target)))
    with pytest.raises(InfeasibleError, match=f"has no path avoiding nodes '{hub}'") as err:
        solve(transit, card)  # the hub is some node's only neighbour
    cut_off = set(err.value.details["demands"])
    sub = replace_network(transit, demands=tuple(d for d in transit.demands if d.id not in cut_off))
    result = solve(sub, card)
    secured = replace_network(sub, nodes=tuple(n if n.id != hub else Node(hub, n.longitude, n.latitude, insecurity=0.8)
                                      for n in sub.nodes))
    assert hub not in _nodes_used(secured, result.design.routing)
    assert check_result(secured, result, security={}) == []
    assert result.objective >= solve_min_delay_gp(sub, gap=1e-6).lower_bound
