"""Bundled instances: the six-node textbook numbers, stability under min-hop, reproducibility."""
import importlib.util
import json

import numpy as np
import pytest

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.evaluators.delay import DelayObjective
from topo_opt.io.detect import read_instance
from topo_opt.model.synthesis import STANDARD_LINE_RATES, great_circle_m

from conftest import INSTANCES, REAL


def _converter():
    spec = importlib.util.spec_from_file_location("convert_sndlib", INSTANCES / "convert_sndlib.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_six_node_reproduces_the_textbook_numbers():
    net = read_instance(INSTANCES / "six-node.json")
    assert net.packet_length_bits == 4800.0
    mu = net.link_capacity * net.packets_per_rate_unit
    np.testing.assert_allclose(mu, 1e9 / (600 * 8), rtol=1e-15)  # 1 Gbit/s, 600-byte packets: 208 333 pkt/s
    flow = min_hop_routing(net).arc_flow(net.demand_rate, net.n_arcs)
    rho = flow / net.queue_capacity()
    assert sorted(np.round(rho, 12)) == [0.75] * 6 + [0.8] * 6 + [0.9] * 4
    # independent M/M/1 sum: N = Σ ρ/(1 − ρ), γ = Σ r / L̄, T = N / γ
    n_packets = float(np.sum(rho / (1 - rho)))
    gamma = net.demand_rate.sum() / 4800
    assert n_packets == pytest.approx(78.0, rel=1e-12) and gamma == pytest.approx(2.5e6, rel=1e-12)
    assert n_packets / gamma == pytest.approx(31.2e-6, rel=1e-12)
    objective = DelayObjective.for_network(net)
    assert objective.packets_in_network(flow) == pytest.approx(78.0, rel=1e-12)
    assert objective.value(flow) == pytest.approx(31.2e-6, rel=1e-12)


@pytest.mark.parametrize("name, max_rho", [("abilene", 0.444), ("geant", 0.497), ("nobel-us", 0.448)])
def test_bundled_sndlib_instances_are_stable_under_min_hop(name, max_rho):
    net = read_instance(INSTANCES / f"{name}.json")
    flow = min_hop_routing(net).arc_flow(net.demand_rate, net.n_arcs)
    rho = net.queue_load(flow) / net.queue_capacity()
    assert rho.max() < 1.0 and rho.max() == pytest.approx(max_rho, abs=5e-4)
    n_packets = np.sum(rho / (1 - rho))  # M/M/1: finite delay
    assert np.isfinite(DelayObjective.for_network(net).value(flow))
    assert n_packets > 0
    assert "bundled_rule" in net.metadata
    # lengths are great-circle distances between the end nodes
    a, b = net.nodes[net.link_source[0]], net.nodes[net.link_target[0]]
    assert net.links[0].length_m == pytest.approx(great_circle_m(a.longitude, a.latitude, b.longitude, b.latitude))


def test_bundled_capacity_rules():
    abilene = read_instance(INSTANCES / "abilene.json")
    assert sorted(set(abilene.link_capacity)) == [2480e6, 9920e6]
    assert abilene.metadata["demand_scale"] == 0.005
    assert abilene.total_demand == pytest.approx(2_985_263e6 * 0.005)
    for name in ("geant", "nobel-us"):
        net = read_instance(INSTANCES / f"{name}.json")
        assert net.metadata["capacity_rule"]["target_utilization"] == 0.5
        assert all(c in STANDARD_LINE_RATES or c % 400e9 == 0 for c in net.link_capacity)


def _assert_same_document(new, kept, where=""):
    """Equal JSON documents, numbers within a relative 1e-9: great-circle lengths and scaled rates
    may differ in the last bits between numpy/libm builds, so bytes are not compared."""
    if isinstance(kept, float) or isinstance(new, float):
        assert new == pytest.approx(kept, rel=1e-9, abs=0.0), where
    elif isinstance(kept, dict):
        assert isinstance(new, dict) and new.keys() == kept.keys(), where
        for key in kept:
            _assert_same_document(new[key], kept[key], f"{where}.{key}")
    elif isinstance(kept, list):
        assert isinstance(new, list) and len(new) == len(kept), where
        for i, (a, b) in enumerate(zip(new, kept)):
            _assert_same_document(a, b, f"{where}[{i}]")
    else:
        assert new == kept, where


def test_conversion_is_reproducible(tmp_path):
    converter = _converter()  # the SNDlib files are the unchanged copies in tests/fixtures/real
    converter.main(["convert_sndlib.py", str(REAL / "sndlib"), str(tmp_path)])
    for name in converter.NAMES:
        new = json.loads((tmp_path / f"{name}.json").read_text())
        _assert_same_document(new, json.loads((INSTANCES / f"{name}.json").read_text()), name)


def test_document_comparison_tolerates_last_bits_only():
    _assert_same_document({"a": [1.0, "x"]}, {"a": [1.0 + 1e-15, "x"]})
    for changed in ({"a": [1.001, "x"]}, {"a": [1.0, "y"]}, {"a": [1.0]}, {"b": [1.0, "x"]}):
        with pytest.raises(AssertionError):
            _assert_same_document(changed, {"a": [1.0, "x"]})


def test_nice_factor():
    converter = _converter()
    assert [converter.nice_factor_below(x) for x in (0.00546, 0.0199, 0.3, 7.0)] == [0.005, 0.01, 0.2, 5.0]
