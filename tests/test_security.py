"""Security rejection r(k, e) = max(0, S(e) − T(k)) summed and maximised along paths."""
import numpy as np
import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.security import demand_tolerance, path_rejection
from topo_opt.model import Demand, Link, Node, Routing, build_network


def _network():
    return build_network(
        name="sec",
        nodes=[Node("a", insecurity=0.5), Node("b", insecurity=0.9), Node("c", insecurity=0.2),
               Node("d", insecurity=0.0), Node("e")],
        links=[Link("ab", "a", "b", 1.0, insecurity=0.3), Link("bc", "b", "c", 1.0),
               Link("ad", "a", "d", 1.0), Link("dc", "d", "c", 1.0), Link("ce", "c", "e", 1.0)],
        demands=[Demand("gold", "a", "c", 1.0, demand_class="gold"), Demand("plain", "c", "e", 1.0)],
        rate_unit="packet/s", link_model="directed")


def test_two_paths_by_hand():
    net = _network()
    # gold (T = 0.1): a -> b -> c with 1/4, a -> d -> c with 3/4; plain (T = 0): c -> e
    routing = Routing.from_paths([(0, [0, 1], 0.25), (0, [2, 3], 0.75), (1, [4], 1.0)])
    r = path_rejection(net, routing, {"gold": 0.1})
    # a→b→c: r(a) 0.4 + r(ab) 0.2 + r(b) 0.8 + r(c) 0.1 = 1.5, max 0.8
    # a→d→c: r(a) 0.4 + r(d) 0 + r(c) 0.1 = 0.5, max 0.4;   c→e: r(c) 0.2 (e unknown: 0)
    np.testing.assert_allclose(r.path_sum, [1.5, 0.5, 0.2])
    np.testing.assert_allclose(r.path_max, [0.8, 0.4, 0.2])
    np.testing.assert_allclose(r.demand_sum, [0.25 * 1.5 + 0.75 * 0.5, 0.2])
    np.testing.assert_allclose(r.demand_max, [0.25 * 0.8 + 0.75 * 0.4, 0.2])


def test_high_tolerance_rejects_nothing_and_default_is_zero():
    net = _network()
    routing = Routing.from_paths([(0, [0, 1], 1.0), (1, [4], 1.0)])
    none = path_rejection(net, routing, {"gold": 1.0, "default": 1.0})
    np.testing.assert_array_equal(none.path_sum, [0.0, 0.0])
    default = path_rejection(net, routing)
    np.testing.assert_allclose(default.path_sum, [0.5 + 0.3 + 0.9 + 0.2, 0.2])
    np.testing.assert_allclose(default.path_max, [0.9, 0.2])


def test_bad_tolerance():
    with pytest.raises(InvalidInputError,
                       match=r"tolerance of demand class 'gold' must be a finite number >= 0, got -1"):
        demand_tolerance(_network(), {"gold": -1})
    with pytest.raises(InvalidInputError, match=r"class 'x' .* got 'high'"):
        demand_tolerance(_network(), {"x": "high"})
