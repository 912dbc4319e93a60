"""Packet simulator against closed forms (M/M/1, M/D/1, M/G/1, M/M/1/K, Kelly networks)."""
import math
from pathlib import Path

import numpy as np
import pytest

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.metrics import evaluate_design
from topo_opt.evaluators.queues import md1, mg1, mm1, mm1k
from topo_opt.io.detect import read_instance
from topo_opt.model import Demand, Design, Link, Node, build_network
from topo_opt.simulation import Buffers, PacketLengths, SimulationOptions, simulate

ROOT = Path(__file__).resolve().parents[1]
L_BITS = 1000.0        # mean packet length
C_BPS = 1e6            # μ = 1000 packet/s


def _link(load=0.8, link_model="directed", both_ways=False):
    demands = [Demand("ab", "a", "b", load * C_BPS)]
    if both_ways:
        demands.append(Demand("ba", "b", "a", 0.3 * C_BPS))
    net = build_network(name="link", nodes=[Node("a"), Node("b")], links=[Link("ab", "a", "b", C_BPS)],
                        demands=demands, packet_length_bits=L_BITS, link_model=link_model)
    return net, Design.for_network(net, min_hop_routing(net))


def _opts(**kw):
    kw.setdefault("packets", 200_000)
    kw.setdefault("replications", 8)
    return SimulationOptions(level=0.99, **kw)


def _within(mean, half, expected):
    assert math.isfinite(half) and half < 0.1 * abs(expected)  # a test that can fail
    assert abs(mean - expected) <= half, (mean, half, expected)


def test_single_mm1_link_matches_the_closed_form():
    net, design = _link(0.8)
    result = simulate(net, design, _opts())
    expected = float(mm1(800.0, 1000.0).sojourn_s)     # 1/(μ−λ) = 5 ms
    _within(result.arc_queue_delay.mean[0], result.arc_queue_delay.half_width[0], expected)
    _within(result.network_delay.mean[0], result.network_delay.half_width[0], expected)
    assert result.network_kleinrock_delay_s == pytest.approx(expected)
    assert result.ci_method == "replications" and result.replications_done == 8
    assert result.network_loss == 0.0


def test_fixed_lengths_match_md1_and_empirical_lengths_match_pollaczek_khinchine():
    net, design = _link(0.8)
    fixed = simulate(net, design, _opts(lengths=PacketLengths.parse("fixed")))
    assert fixed.model_name == "md1"
    _within(fixed.arc_queue_delay.mean[0], fixed.arc_queue_delay.half_width[0], float(md1(800.0, 1000.0).sojourn_s))

    lengths = PacketLengths.parse("empirical:64,1500:0.6,0.4")
    mean_bits = 8 * (0.6 * 64 + 0.4 * 1500)
    assert lengths.mean(L_BITS) == pytest.approx(mean_bits)
    mix = simulate(net, design, _opts(lengths=lengths))
    lam, mu = 0.8 * C_BPS / mean_bits, C_BPS / mean_bits
    assert mix.model_name == "mg1"
    _within(mix.arc_queue_delay.mean[0], mix.arc_queue_delay.half_width[0],
            float(mg1(lam, mu, lengths.cs2).sojourn_s))


def test_finite_buffer_loss_matches_mm1k():
    net, design = _link(0.9)
    result = simulate(net, design, _opts(buffers=Buffers.parse("5pkts")))
    expected = mm1k(900.0, 1000.0, 5)
    assert result.model_name == "mm1k"
    _within(result.arc_loss.mean[0], result.arc_loss.half_width[0], float(expected.blocking))
    _within(result.arc_queue_delay.mean[0], result.arc_queue_delay.half_width[0], float(expected.sojourn_s))
    assert result.network_loss == pytest.approx(float(expected.blocking), rel=0.05)
    assert result.network_delay.model[0] == pytest.approx(float(expected.sojourn_s))  # per delivered packet
    _within(result.network_delay.mean[0], result.network_delay.half_width[0], float(expected.sojourn_s))


def test_byte_buffer_equals_packet_buffer_for_fixed_lengths():
    # with fixed length L, "unfinished work + L <= K·L" admits exactly when fewer than K are queued
    net, design = _link(0.95)
    fixed = PacketLengths.parse("fixed")
    pkts = simulate(net, design, _opts(packets=50_000, lengths=fixed, buffers=Buffers.parse("4")))
    nbytes = simulate(net, design, _opts(packets=50_000, lengths=fixed,
                                         buffers=Buffers.parse(f"{4 * L_BITS / 8:g}bytes")))
    assert pkts.network_loss > 0.01
    assert nbytes.network_loss == pkts.network_loss
    assert (nbytes.arc_loss.mean == pkts.arc_loss.mean).all()


def test_undirected_link_is_one_shared_queue():
    net, design = _link(0.5, link_model="undirected", both_ways=True)
    result = simulate(net, design, _opts())
    expected = float(mm1(800.0, 1000.0).sojourn_s)   # both directions: λ = 500 + 300
    for a in range(2):
        _within(result.arc_queue_delay.mean[a], result.arc_queue_delay.half_width[a], expected)


def _tandem():
    """a -> b -> c with cross traffic, processing at b and 200 km links (1 ms propagation)."""
    net = build_network(
        name="tandem", nodes=[Node("a"), Node("b", processing_delay_s=2e-4), Node("c")],
        links=[Link("ab", "a", "b", C_BPS, length_m=200e3), Link("bc", "b", "c", 2 * C_BPS, length_m=200e3)],
        demands=[Demand("ac", "a", "c", 0.6 * C_BPS), Demand("bc", "b", "c", 0.9 * C_BPS),
                 Demand("ab", "a", "b", 0.2 * C_BPS)],
        packet_length_bits=L_BITS, link_model="directed")
    return net, Design.for_network(net, min_hop_routing(net))


def test_tandem_with_redrawn_lengths_is_a_kelly_network():
    net, design = _tandem()
    result = simulate(net, design, _opts())
    model = evaluate_design(net, design)
    for a in range(2):
        _within(result.arc_queue_delay.mean[a], result.arc_queue_delay.half_width[a], model.arc_queue_delay_s[a])
    for k in range(3):
        _within(result.demand_delay.mean[k], result.demand_delay.half_width[k], model.demand_delay_s[k])
    _within(result.network_delay.mean[0], result.network_delay.half_width[0], model.average_delay_s)
    queueing = model.average_packets_in_network / net.total_packet_rate      # N/γ, without fixed delays
    assert result.network_queueing.model[0] == pytest.approx(queueing)
    _within(result.network_queueing.mean[0], result.network_queueing.half_width[0], queueing)
    # percentiles of the one-hop demand bc: sojourn Exp(μ−λ) shifted by the fixed delays
    rate = 2000.0 - 1500.0
    fixed = 2e-4 + 1e-3
    p50, p95, p99 = result.demand_percentiles_s[1]
    for value, q in ((p50, 0.5), (p95, 0.95), (p99, 0.99)):
        assert value == pytest.approx(fixed - math.log(1 - q) / rate, rel=0.03)


def test_six_node_textbook_network_matches_kleinrock():
    net = read_instance(ROOT / "instances" / "six-node.json")
    design = Design.for_network(net, min_hop_routing(net))
    result = simulate(net, design, _opts(packets=1_000_000))
    assert result.network_kleinrock_delay_s == pytest.approx(31.2e-6)
    _within(result.network_delay.mean[0], result.network_delay.half_width[0], 31.2e-6)


def test_min_delay_design_of_the_six_node_network_matches_its_objective():
    from topo_opt.solve.cards import load_card
    from topo_opt.solve.dispatch import solve

    net = read_instance(ROOT / "instances" / "six-node.json")
    solved = solve(net, load_card(ROOT / "models" / "min-delay.toml"))
    result = simulate(net, solved.design, _opts(packets=1_000_000))
    _within(result.network_delay.mean[0], result.network_delay.half_width[0], solved.objective)


def test_same_seed_same_output_and_batch_means_with_one_replication():
    net, design = _tandem()
    options = SimulationOptions(packets=20_000, replications=1, seed=7, lengths=PacketLengths.parse("kept"))

    def strip(doc):
        doc["network"] = {k: v for k, v in doc["network"].items() if k not in ("wall_time_s", "engine_cpu_s", "packet_hops_per_s")}
        return doc

    first, again = (strip(simulate(net, design, options).to_dict()) for _ in range(2))
    assert first == again
    other = simulate(net, design, SimulationOptions(packets=20_000, replications=1, seed=8,
                                                    lengths=PacketLengths.parse("kept")))
    assert other.network_delay.mean[0] != first["network"]["mean_delay_s"]
    assert first["network"]["ci_method"] == "batch means"
    assert math.isfinite(first["network"]["ci_half_width_s"])


def test_duration_budget_and_warmup():
    net, design = _link(0.5)
    result = simulate(net, design, SimulationOptions(duration_s=100.0, warmup=0.2, replications=2))
    # λ = 500 packet/s over 80 measured seconds per replication
    assert result.demand_offered[0] == pytest.approx(2 * 0.8 * 100 * 500, rel=0.02)


def test_saturated_link_and_bad_options_are_refused():
    net, design = _link(1.0)
    with pytest.raises(InvalidInputError, match="link 'ab' is saturated .*utilisation 1 >= 1"):
        simulate(net, design)
    simulate(net, design, SimulationOptions(packets=2000, buffers=Buffers.parse("10")))  # finite: fine
    net, design = _link(0.5)
    for bad, match in (({"packets": 10, "duration_s": 1.0}, "not both"), ({"packets": 0}, "packets"),
                       ({"warmup": 1.0}, "warmup"), ({"replications": 0}, "replications")):
        with pytest.raises(InvalidInputError, match=match):
            simulate(net, design, SimulationOptions(**bad))
    for text in ("exponential", "empirical:64,1500:1", "empirical:0:1", "fixed:3"):
        with pytest.raises(InvalidInputError, match="--lengths"):
            PacketLengths.parse(text)
    for text in ("0", "2.5", "x", "-3bytes"):
        with pytest.raises(InvalidInputError, match="--buffer"):
            Buffers.parse(text)
    with pytest.raises(InvalidInputError, match="all be in packets or all in bytes"):
        Buffers.parse("5", {"ab": "100bytes"})


def test_ctrl_c_keeps_finished_replications(monkeypatch):
    import topo_opt.simulation.simulator as module

    def progress(replication, fraction):
        if replication == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(module, "CHUNK_EVENTS", 1000)  # progress is reported after every chunk
    net, design = _link(0.5)
    result = simulate(net, design, SimulationOptions(packets=5000, replications=3), progress=progress)
    assert result.interrupted and result.replications_done == 1
    assert result.demand_offered[0] == 4500
    assert result.to_dict()["network"]["interrupted"] is True


def test_agrees_with_ciw_within_confidence_intervals():
    pytest.importorskip("ciw")
    from topo_opt.simulation.ciw_peer import simulate_ciw

    net = build_network(
        name="ciw", nodes=[Node("a"), Node("b"), Node("c")],
        links=[Link("ab", "a", "b", C_BPS), Link("bc", "b", "c", C_BPS)],
        demands=[Demand("ac", "a", "c", 0.4 * C_BPS), Demand("bc", "b", "c", 0.2 * C_BPS),
                 Demand("ab", "a", "b", 0.1 * C_BPS)],
        packet_length_bits=L_BITS, link_model="directed")
    design = Design.for_network(net, min_hop_routing(net))
    peer = simulate_ciw(net, design, duration_s=8.0, replications=4, seed=1)
    ours = simulate(net, design, SimulationOptions(packets=200_000, replications=4))
    for a in range(2):
        gap = abs(ours.arc_queue_delay.mean[a] - peer.arc_queue_delay_s[a])
        assert gap <= math.hypot(ours.arc_queue_delay.half_width[a], peer.half_width_s[a])
        assert peer.half_width_s[a] < 0.2 * peer.arc_queue_delay_s[a]  # not a vacuous comparison


def test_warmup_covers_the_longest_path_delay():
    net, design = _tandem()   # longest path a-b-c: 1 ms + 0.2 ms + 1 ms of fixed delay
    result = simulate(net, design, SimulationOptions(packets=20, replications=1))
    packet_rate = (0.6 + 0.9 + 0.2) * C_BPS / L_BITS
    assert result.warmup_used == math.ceil(2 * 2.2e-3 * packet_rate) == 8   # more than 10 % of 20
    assert result.demand_offered.sum() == 18


def test_traffic_on_a_switched_off_link_is_refused():
    net, design = _link(0.5)
    off = Design(design.link_capacity, design.routing, np.zeros(1, bool), design.node_on)
    for buffers in (Buffers(), Buffers.parse("10")):
        with pytest.raises(InvalidInputError, match="link 'ab' carries traffic but has no capacity"):
            simulate(net, off, SimulationOptions(packets=1000, buffers=buffers))
