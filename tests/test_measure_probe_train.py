"""Probe trains over a tandem path: simulation against closed forms, inference against the truth."""
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli
from topo_opt.errors import InvalidInputError
from topo_opt.measure import probe_train as pt

L = 12000.0
EX = Path(__file__).resolve().parents[1] / "examples" / "measure"


@pytest.mark.parametrize("gap", [0.0, 5e-5, 1.2e-4, 1e-3])
def test_no_cross_traffic_matches_the_max_plus_closed_form(gap):
    caps, props = [1e9, 1e8, 4e8], [1e-3, 2e-3, 5e-4]
    servers = [pt.Server(c, 0.0, p) for c, p in zip(caps, props)]
    send = 3.0 + np.arange(50) * gap
    delay = pt.simulate(servers, send, np.full(50, L)) - send
    sigma = L / np.array(caps)
    j = np.arange(50)
    expected = sigma.sum() + sum(props) + j * max(sigma.max() - gap, 0.0)
    assert delay == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_fluid_cross_traffic_gives_the_output_rate_formula():
    c, share, gap = 1e8, 0.25, 5e-5  # input 240 Mbit/s > available 75 Mbit/s
    receive = pt.simulate([pt.Server(c, share)], np.arange(100) * gap, np.full(100, L))
    r_in, x = L / gap, share * c
    assert np.diff(receive) == pytest.approx(L / (c * r_in / (r_in + x)), rel=1e-12)


def test_outage_delays_fall_linearly():
    c, gap, start, b = 1e8, 3e-4, 0.01234, 0.005  # σ = 120 µs < g: no queue without the outage
    sigma = L / c
    send = np.arange(100) * gap
    depart = pt.simulate([pt.Server(c, 0.0, 0.0, ((start, b),))], send, np.full(100, L))
    k = int(np.searchsorted(send + sigma, start, side="right"))  # first packet not done by `start`
    expected = send + sigma
    for j in range(k, 100):  # resumed at start + B; then back-to-back until the queue empties
        backlog = start + b + sigma * (j - k + 1) + (send[k] + sigma - start if send[k] < start else 0.0)
        expected[j] = max(send[j] + sigma, backlog - (sigma if send[k] < start else 0.0))
    assert depart == pytest.approx(expected, rel=1e-12)
    falling = np.diff(depart - send)[k:k + 10]
    assert falling == pytest.approx(sigma - gap, rel=1e-9)  # slope -(1 - σ/g) per send time


def path_with_outage(outage=(0.45, 0.02)):
    return [pt.Server(1e9, 0.0, 1e-3), pt.Server(1e8, 0.3, 2e-3, (outage,)), pt.Server(1e9, 0.0, 1e-3)]


def simulate_trains(servers, specs=((0, 20), (5e-5, 200), (1e-4, 200), (3e-4, 400))):
    trains = []
    for number, send in enumerate(pt.schedule(list(specs), 0.0, 0.1)):
        lengths = np.full(send.size, L)
        trains.append(pt.Train(str(number), send, pt.simulate(servers, send, lengths), lengths))
    return trains


def test_inference_recovers_capacity_share_and_outage():
    result = pt.infer(simulate_trains(path_with_outage()))
    # packet pairs leave the 1 Gbit/s hop 12 µs apart, and cross traffic (30 Mbit/s) slips in
    # between them at the bottleneck: Δ = (L + X L/C_up)/C, C biased low by 360/12360 = 2.9 %
    assert result.capacity_bps == pytest.approx(1e8 / (1 + 0.3e8 * L / 1e9 / L), rel=1e-9)
    assert result.cross_share == pytest.approx(0.3, abs=1e-9)  # the slope: no such bias
    (outage,) = result.outages
    upstream = L / 1e9 + 1e-3  # the sender-clock time of the outage start at server 2
    assert abs(outage.start_s - (0.45 - upstream)) <= outage.start_uncertainty_s + 1e-9
    assert abs(outage.duration_s - 0.02) <= outage.duration_uncertainty_s + 1e-9
    assert outage.duration_uncertainty_s < 1e-4


def test_outage_in_a_saturating_train_is_a_shift_of_exactly_b():
    servers = [pt.Server(1e8, 0.0, 0.0, ((0.2052, 0.003),))]
    result = pt.infer(simulate_trains(servers, ((0, 20), (5e-5, 400))))
    assert result.capacity_bps == pytest.approx(1e8, rel=1e-9)
    (outage,) = result.outages
    assert outage.duration_uncertainty_s == 0 and outage.duration_s == pytest.approx(0.003, rel=1e-9)


def test_no_outage_no_report():
    assert pt.infer(simulate_trains([pt.Server(1e8, 0.1)])).outages == ()


@pytest.mark.parametrize("kwargs, match", [({"cross_share": 1.0}, "cross-traffic share"),
                                           ({"capacity_bps": 0.0}, "capacity"),
                                           ({"outages": ((1.0, 1.0), (1.5, 1.0))}, "overlap")])
def test_bad_servers(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        pt.Server(**{"capacity_bps": 1e8, **kwargs})


def test_bad_probe_files_fail_in_one_line(tmp_path):
    bad = tmp_path / "p.csv"
    bad.write_text("train,packet,send_s,receive_s,length_bits\n0,0,1.0,0.5,12000\n")
    result = CliRunner().invoke(cli, ["measure", "probe-train", "infer", str(bad)])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert "p.csv:2: received at 0.5 s before it was sent at 1 s" in result.output


def test_cli_simulate_then_infer(tmp_path):
    probes, out = tmp_path / "probes.csv", tmp_path / "inference.json"
    result = CliRunner().invoke(cli, ["measure", "probe-train", "simulate", "--capacity", "1e9,1e8,1e9",
                                      "--cross-share", "0,0.3,0", "--propagation", "0.001,0.002,0.001",
                                      "--outage", "2:0.45:0.02", "--out", str(probes)])
    assert result.exit_code == 0, result.output
    assert probes.read_text() == (EX / "path-probes.csv").read_text()  # the shipped example
    result = CliRunner().invoke(cli, ["measure", "probe-train", "infer", str(probes), "--out", str(out)])
    assert result.exit_code == 0 and "outage in train 3" in result.output, result.output
