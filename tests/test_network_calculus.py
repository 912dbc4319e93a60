"""Network calculus: curves, bounds and the worst-case strategies against closed forms and the
published numbers of NCBounds (Bouillard, Nokia; the doctests of ``SFAFixPointAnalyzer``)."""
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.network_calculus import (
    ArrivalCurve, RateLatency, aggregate, backlog_bound, buffer_delay_s, delay_bound, max_data,
    output_curve, powerboost_duration_s,
)
from topo_opt.evaluators.worst_case import (
    ServerFlowSystem, certified_fixed_point, regulated, separated_flow_analysis,
    total_flow_analysis, worst_case_delays,
)
from topo_opt.io.native_json import dumps_json, loads_json
from topo_opt.model.design import Design
from topo_opt.model.traffic import traffic_descriptors

ROOT = Path(__file__).resolve().parents[1]
SIX = ROOT / "instances" / "six-node.json"


# ------------------------------------------------------------------ single hop, closed forms
@pytest.mark.parametrize("beta, rho, R, T", [(1e5, 1e6, 1e9, 1.2e-5), (8.0, 1.0, 3.0, 0.5), (3.0, 3.0, 3.0, 0.0)])
def test_token_bucket_through_rate_latency_is_burst_over_rate_plus_latency(beta, rho, R, T):
    alpha, server = ArrivalCurve.token_bucket(beta, rho), RateLatency(R, T)
    assert delay_bound(alpha, server) == pytest.approx(beta / R + T, rel=1e-14)
    assert backlog_bound(alpha, server) == pytest.approx(beta + rho * T, rel=1e-14)
    out = output_curve(alpha, server)
    assert out.bursts == pytest.approx((beta + rho * T,)) and out.rates == (rho,)
    system = ServerFlowSystem.build([R], [T], [(alpha, [0])], fixed=[0.25])
    for strategy in (total_flow_analysis, separated_flow_analysis, regulated):
        assert strategy(system).flow_delay_s[0] == pytest.approx(beta / R + T + 0.25, rel=1e-9)


def test_overload_is_unbounded_not_an_error():
    alpha, server = ArrivalCurve.token_bucket(1.0, 2.0), RateLatency(1.0, 0.1)
    assert delay_bound(alpha, server) == math.inf and backlog_bound(alpha, server) == math.inf
    assert output_curve(alpha, server) is None
    # flow 0 overloads server 0 after server 1; flow 2 meets it downstream, flow 1 does not
    system = ServerFlowSystem.build([1.0, 5.0, 5.0], [0.1, 0.1, 0.1],
                                    [(alpha, [1, 0, 2]), (ArrivalCurve.token_bucket(1, 1), [1]),
                                     (ArrivalCurve.token_bucket(1, 1), [2])])
    tfa = total_flow_analysis(system)
    assert tfa.flow_delay_s[0] == math.inf and tfa.flow_delay_s[2] == math.inf
    assert tfa.flow_delay_s[1] == pytest.approx(0.1 + 2 / 5)
    assert "overloaded" in tfa.message
    sfa = separated_flow_analysis(system)  # every leftover rate > 0, but flow 0's own rate is above it
    assert not sfa.bounded and "overloaded" in sfa.message  # an unbounded result says why


def test_dual_bucket_delay_matches_its_closed_form():
    # p > R ≥ ρ: h = T + (M + θ(p − R))/R with θ = (β − M)/(p − ρ)  (L&T §1.4.1)
    M, beta, rho, p, R, T = 1.0, 10.0, 1.0, 5.0, 3.0, 2.0
    theta = (beta - M) / (p - rho)
    alpha = ArrivalCurve.dual_bucket(beta, rho, p, M)
    assert delay_bound(alpha, RateLatency(R, T)) == pytest.approx(T + (M + theta * (p - R)) / R)
    assert delay_bound(alpha, RateLatency(6.0, T)) == pytest.approx(T + M / 6.0)  # p ≤ R: one packet
    assert delay_bound(alpha, RateLatency(R, T)) < delay_bound(ArrivalCurve.token_bucket(beta, rho), RateLatency(R, T))


def test_aggregate_is_the_pointwise_sum_and_drops_dominated_pieces():
    curves = [ArrivalCurve.dual_bucket(10, 1, 5, 1), ArrivalCurve.dual_bucket(4, 2, 3, 1),
              ArrivalCurve.token_bucket(3, 0.5), ArrivalCurve((1, 2, 30), (10, 5, 4))]
    total = aggregate(curves)
    t = np.linspace(1e-3, 30, 3001)
    assert np.allclose(total(t), sum(c(t) for c in curves), rtol=1e-13)
    assert ArrivalCurve((1.0, 2.0), (1.0, 3.0)).bursts == (1.0,)  # slower and smaller: dominates


def test_shaper_helpers():
    assert max_data(8e6, 1e7, 2.0) == 2.8e7
    assert powerboost_duration_s(8e6, 15e6, 10e6) == pytest.approx(1.6)  # models.md §11
    assert powerboost_duration_s(8e6, 10e6, 10e6) == math.inf
    assert buffer_delay_s(1e6, 1e7) == 0.1
    with pytest.raises(InvalidInputError, match="drain rate"):
        buffer_delay_s(1.0, 0.0)


# ------------------------------------------------------------------ tandem: pay bursts only once
def test_tandem_pay_bursts_only_once_equals_closed_form_and_beats_per_hop_sums():
    R, T = [10.0, 4.0, 8.0], [0.1, 0.3, 0.2]
    b, r = 6.0, 1.5
    flow = (ArrivalCurve.token_bucket(b, r), [0, 1, 2])
    system = ServerFlowSystem.build(R, T, [flow])
    pboo = separated_flow_analysis(system).flow_delay_s[0]
    assert pboo == pytest.approx(sum(T) + b / min(R), rel=1e-12)
    per_hop, burst = 0.0, b  # each hop pays the grown burst: b_{i+1} = b_i + r D_i
    for rate, latency in zip(R, T):
        d = latency + burst / rate
        per_hop, burst = per_hop + d, burst + r * d
    assert total_flow_analysis(system).flow_delay_s[0] == pytest.approx(per_hop, rel=1e-12)
    assert pboo < per_hop


def test_tandem_with_cross_traffic_uses_blind_multiplexing_leftovers():
    R, T = [10.0, 12.0], [0.1, 0.2]
    b, r, bc, rc = 2.0, 1.0, 3.0, 4.0
    flows = [(ArrivalCurve.token_bucket(b, r), [0, 1]), (ArrivalCurve.token_bucket(bc, rc), [0]),
             (ArrivalCurve.token_bucket(bc, rc), [1])]
    got = separated_flow_analysis(ServerFlowSystem.build(R, T, flows)).flow_delay_s[0]
    left = [((bc + Ri * Ti) / (Ri - rc), Ri - rc) for Ri, Ti in zip(R, T)]  # L&T Thm 6.2.1
    assert got == pytest.approx(sum(t for t, _ in left) + b / min(x for _, x in left), rel=1e-12)
    per_hop, burst = 0.0, b
    for latency, rate in left:
        d = latency + burst / rate
        per_hop, burst = per_hop + d, burst + r * d
    assert got < per_hop


def test_tfa_uses_peak_rates_by_monotone_refinement():
    """Two hops, one dual-bucket flow: hop 1 sees α, hop 2 sees α(· + D1) (both pieces shifted)."""
    M, beta, rho, p = 1.0, 10.0, 1.0, 5.0
    alpha = ArrivalCurve.dual_bucket(beta, rho, p, M)
    servers = [RateLatency(3.0, 0.5), RateLatency(4.0, 0.25)]
    d1 = delay_bound(alpha, servers[0])
    d2 = delay_bound(alpha.shift(d1), servers[1])
    system = ServerFlowSystem.build([3.0, 4.0], [0.5, 0.25], [(alpha, [0, 1])])
    tfa = total_flow_analysis(system)
    assert tfa.server_delay_s == pytest.approx([d1, d2], rel=1e-12)
    plain = total_flow_analysis(ServerFlowSystem.build([3.0, 4.0], [0.5, 0.25],
                                                       [(ArrivalCurve.token_bucket(beta, rho), [0, 1])]))
    assert tfa.flow_delay_s[0] < plain.flow_delay_s[0]


# ------------------------------------------------------------------ cyclic: the uniform ring
def ring(n, b, r, R, T):
    """n servers in a ring, flow i enters at server i and crosses all n servers (NCBounds' Ring)."""
    flows = [(ArrivalCurve.token_bucket(b, r), [(i + j) % n for j in range(n)]) for i in range(n)]
    return ServerFlowSystem.build([R] * n, [T] * n, flows)


def test_ring_sfa_fixed_point_reproduces_ncbounds():
    # NCBounds SFAFixPointAnalyzer(Ring(3, ArrivalCurve(2, 1), Server(ServiceCurve(6, 4)))):
    # bursts 2, 24.4, 41.2 along each flow; backlog of flow 0 at its last server 53.8
    sfa = separated_flow_analysis(ring(3, 2.0, 1.0, 6.0, 4.0))
    assert sfa.hop_burst == pytest.approx([2.0, 24.4, 41.2] * 3, rel=1e-8)
    last_latency = (2.0 + 24.4 + 6.0 * 4.0) / (6.0 - 2.0)
    assert sfa.hop_burst[2] + 1.0 * last_latency == pytest.approx(53.8, rel=1e-8)
    assert sfa.flow_delay_s[0] == pytest.approx(52.3, rel=1e-8)  # Σ leftover latencies + b/4


def test_feed_forward_sfa_reproduces_ncbounds_toy_network():
    # NCBounds ToyNetwork: SFAFeedForwardAnalyzer delay(0) = 24.1667, backlog(0, 2) = 48.333
    flows = [(ArrivalCurve.token_bucket(1, 2), [0, 1, 2]), (ArrivalCurve.token_bucket(2, 3), [1, 2]),
             (ArrivalCurve.token_bucket(1, 1), [0, 2])]
    sfa = separated_flow_analysis(ServerFlowSystem.build([4, 5, 7], [2, 3, 1], flows))
    assert sfa.hop_burst == pytest.approx([1.0, 7.0, 24.0, 2.0, 24.0, 1.0, 5.5], rel=1e-12)
    assert sfa.flow_delay_s[0] == pytest.approx(24.166666666666664, rel=1e-12)
    last_latency = (24.0 + 5.5 + 7 * 1) / (7 - 3 - 1)
    assert sfa.hop_burst[2] + 2 * last_latency == pytest.approx(48.33333333333333, rel=1e-12)


@pytest.mark.parametrize("n", [4, 6, 9])
def test_ring_tfa_is_bounded_below_its_stability_limit_and_unbounded_above(n):
    """TFA on the ring: D = T + n b/R + (r/R) D Σ_{j<n} j, so D = (T + n b/R)/(1 − u(n−1)/2) with
    u = n r/R, and the time-stopping fixed point exists iff u < 2/(n − 1)."""
    R, T, b = 100.0, 1e-3, 1.0
    limit = 2.0 / (n - 1)
    for u in (0.5 * limit, 0.97 * limit):
        tfa = total_flow_analysis(ring(n, b, u * R / n, R, T))
        expected = n * (T + n * b / R) / (1 - u * (n - 1) / 2)
        assert tfa.bounded and tfa.flow_delay_s == pytest.approx([expected] * n, rel=1e-7)
        assert tfa.contraction < 1
    for u in (1.0 * limit, 1.03 * limit):
        tfa = total_flow_analysis(ring(n, b, u * R / n, R, T))
        assert not tfa.bounded and np.all(tfa.flow_delay_s == math.inf)
        assert "diverges" in tfa.message


def test_fixed_point_certificate_refuses_a_divergent_system():
    # x = 1 + 1.01 x has the negative solution −100 only: no bound may come out
    assert certified_fixed_point(np.ones(1), lambda x: 1.01 * x).value is None
    fp = certified_fixed_point(np.ones(1), lambda x: 0.5 * x)
    assert fp.value[0] >= 2.0 and fp.value[0] == pytest.approx(2.0, rel=1e-8) and fp.contraction < 1


# ------------------------------------------------------------------ on a design
def test_regulated_bounds_on_six_node_match_a_hand_sum():
    network = loads_json(SIX.read_text())
    design = Design.for_network(network, min_hop_routing(network))
    traffic = traffic_descriptors(network, burst=50_000.0, max_packet=12_000.0)
    report = worst_case_delays(network, design, traffic)
    routing = design.routing
    bursts_at = np.bincount(network.arc_queue[routing.arcs],
                            weights=np.repeat(traffic.burst[routing.demand], np.diff(routing.indptr)),
                            minlength=network.n_queues)
    capacity = network.queue_capacity()
    hop = (12_000.0 + bursts_at) / capacity + np.zeros(network.n_queues)
    for k in range(network.n_demands):
        paths = np.flatnonzero(routing.demand == k)
        expected = max(hop[network.arc_queue[routing.path_arcs(p)]].sum()
                       + network.arc_fixed_delay_s[routing.path_arcs(p)].sum() for p in paths)
        assert report.demand_delay_s["regulated"][k] == pytest.approx(expected, rel=1e-12)
    assert np.all(report.best() <= report.demand_delay_s["tfa"])
    assert all(b.bounded for b in report.bounds.values())


def test_demand_shaper_fields_round_trip_and_are_validated():
    doc = json.loads(SIX.read_text())
    doc["demands"][0].update(burst=2e5, peak_rate=5e8)
    network = loads_json(json.dumps(doc))
    assert network.demands[0].burst == 2e5 and network.demands[0].peak_rate == 5e8
    assert loads_json(dumps_json(network)) == network
    traffic = traffic_descriptors(network)
    assert traffic.burst[0] == 2e5 and traffic.burst[1] == 10 * 12_000.0
    assert traffic.peak_rate[0] == 5e8 and math.isinf(traffic.peak_rate[1])
    doc["demands"][0]["token_rate"] = doc["demands"][0]["rate"] / 2
    with pytest.raises(InvalidInputError, match=r"token_rate must be >= .*got"):
        loads_json(json.dumps(doc), "x.json")
    with pytest.raises(InvalidInputError, match="burst must be a finite number >= the max packet"):
        traffic_descriptors(network, burst=100.0)


def test_evaluate_worst_case_cli_writes_bounds_next_to_average_delays(tmp_path):
    sol, ev = tmp_path / "sol.json", tmp_path / "ev.json"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "topo_opt"]
    assert subprocess.run(run + ["solve", str(SIX), "--model", str(ROOT / "models/routing-baseline.toml"), "--out", str(sol)],
                          env=env, capture_output=True).returncode == 0
    proc = subprocess.run(run + ["evaluate", str(SIX), str(sol), "--worst-case", "--no-links", "--burst", "60000",
                                 "--out", str(ev)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "PBOO" in proc.stdout and "TFA: bounded" in proc.stdout
    doc = json.loads(ev.read_text())
    assert doc["worst_case"]["methods"]["tfa"]["bounded"]
    network = loads_json(SIX.read_text())
    from topo_opt.io.solution_json import read_design
    report = worst_case_delays(network, read_design(str(sol), network),
                               traffic_descriptors(network, burst=60000.0))
    for k, demand in enumerate(doc["demands"]):
        assert demand["tfa_delay_s"] == pytest.approx(report.demand_delay_s["tfa"][k], rel=1e-12)
        assert demand["worst_case_delay_s"] <= demand["tfa_delay_s"] and demand["delay_s"] > 0
