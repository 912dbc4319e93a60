"""``topo-opt measure poll`` against a real SNMP agent: pysnmp's command responder, in this
process on 127.0.0.1, serving IF-MIB counters that grow by known steps at every GET.

The agent answers each GET with the next value of every counter (so the values in the file are
known exactly, whatever the timing), one counter starts just below 2^64 to wrap, ifIndex 99
does not exist, and only the community ``public`` is answered.
"""
import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import popen_with_ctrl_c

pytest.importorskip("pysnmp", reason="pysnmp is not installed (pip install 'topo-opt[snmp]')")

from pysnmp.carrier.asyncio.dgram import udp  # noqa: E402
from pysnmp.entity import config, engine  # noqa: E402
from pysnmp.entity.rfc3413 import cmdrsp, context  # noqa: E402
from pysnmp.proto.api import v2c  # noqa: E402
from pysnmp.smi import error as smi_error, instrum  # noqa: E402

from topo_opt.cli.main import cli  # noqa: E402
from topo_opt.errors import InvalidInputError  # noqa: E402
from topo_opt.measure.counters import clean_series, read_counters  # noqa: E402
from topo_opt.measure import snmp_poll  # noqa: E402
from topo_opt.measure.snmp_poll import Interface, parse_interface  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
IN, OUT, SPEED = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6), (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 10), (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 15)
# (start value, step per GET) of each counter; ifIndex 3 faces link AB, ifIndex 7 is node C's access port
COUNTERS = {IN + (3,): (5_000, 1_000_000), OUT + (3,): (2 ** 64 - 1_500_000, 1_000_000),
            IN + (7,): (0, 250_000), OUT + (7,): (10 ** 12, 4_000_000)}
SPEEDS = {SPEED + (3,): 10_000, SPEED + (7,): 0}   # Mbit/s; 0 = unknown


class Counters(instrum.AbstractMibInstrumController):
    def __init__(self):
        self.gets = 0
        self.lock = threading.Lock()
        self.vanish_after = None   # GETs after which C's ifHCInOctets stops answering
        self.too_big_above = None  # answer tooBig to a GET of more var-binds than this

    def read_variables(self, *var_binds, **ctx):
        if self.too_big_above is not None and len(var_binds) > self.too_big_above:
            raise smi_error.TooBigError()
        with self.lock:
            self.gets += 1
            n = self.gets
        out = []
        for oid, _ in var_binds:
            key = tuple(oid)
            if key == IN + (7,) and self.vanish_after is not None and n > self.vanish_after:
                out.append((oid, v2c.NoSuchInstance()))
            elif key in COUNTERS:
                start, step = COUNTERS[key]
                out.append((oid, v2c.Counter64((start + n * step) % 2 ** 64)))
            elif key in SPEEDS:
                out.append((oid, v2c.Gauge32(SPEEDS[key])))
            else:
                out.append((oid, v2c.NoSuchInstance()))
        return out


@pytest.fixture
def agent():
    """(port, controller) of a fresh agent running in a thread with its own event loop."""
    controller, ready, state = Counters(), threading.Event(), {}
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))

    def serve():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        snmp = engine.SnmpEngine()
        config.add_transport(snmp, udp.DOMAIN_NAME, udp.UdpAsyncioTransport(loop=loop).open_server_mode(sock=sock))
        config.add_v1_system(snmp, "area", "public", contextName=b"ifmib")
        config.add_vacm_user(snmp, 2, "area", "noAuthNoPriv", (1, 3, 6), contextName=b"ifmib")
        snmp_context = context.SnmpContext(snmp)
        snmp_context.register_context_name(b"ifmib", controller)
        cmdrsp.GetCommandResponder(snmp, snmp_context)
        snmp.transport_dispatcher.job_started(1)
        state["loop"] = loop
        ready.set()
        loop.run_forever()
        snmp.close_dispatcher()
        # finish what is pending (the transport's opening, when the test was quick) and close the
        # loop here: left to the garbage collector, it surfaced as an unraisable "Event loop is
        # closed" warning in a later test
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30)
    yield sock.getsockname()[1], controller
    state["loop"].call_soon_threadsafe(state["loop"].stop)
    thread.join(10)


def _poll_args(port, out, *extra):
    return ["measure", "poll", "127.0.0.1", "--port", str(port), "--interface", "3=AB",
            "--interface", "7=C:egress", "--interval", "0.05", "--retries", "0", "--out", str(out), *extra]


def test_polled_counters_are_the_agents_and_measure_rates_reads_them(agent, tmp_path):
    port, controller = agent
    out = tmp_path / "counters.csv"
    result = CliRunner().invoke(cli, _poll_args(port, out, "--count", "4"))
    assert result.exit_code == 0, result.output
    assert "4 poll(s) of 2 interface(s) written" in result.stdout
    lines = out.read_text().splitlines()
    assert lines[0] == "timestamp,link,direction,counter,counter_bits,speed_bps"
    rows = [line.split(",") for line in lines[1:]]
    assert len(rows) == 4 * 4 and controller.gets == 4
    expected = {("AB", "reverse"): IN + (3,), ("AB", "forward"): OUT + (3,),      # ifIndex 3 sends forward
                ("C", "ingress"): IN + (7,), ("C", "egress"): OUT + (7,)}
    for i in range(4):
        poll = rows[4 * i: 4 * i + 4]
        assert len({r[0] for r in poll}) == 1                      # one timestamp per poll
        for t, link, direction, counter, bits, speed in poll:
            start, step = COUNTERS[expected[(link, direction)]]
            assert int(counter) == (start + (i + 1) * step) % 2 ** 64 and bits == "64"
            assert speed == ("10000000000" if link == "AB" else "")
    times = [float(rows[4 * i][0]) for i in range(4)]
    assert all(b > a for a, b in zip(times, times[1:]))
    # the file is the long counter format: read it, undo the wrap of AB forward
    series = read_counters(out)
    assert set(series) == set(expected)
    forward = clean_series(series[("AB", "forward")])
    assert forward.n_wraps == 1 and forward.total[-1] - forward.total[0] == 3 * 1_000_000 * 8  # bits
    assert series[("AB", "forward")].speed == 1e10
    assert CliRunner().invoke(cli, ["measure", "rates", str(out), "--bin", "0.05"]).exit_code == 0


def test_a_value_missing_after_the_first_poll_is_a_warning_and_left_out(agent, tmp_path):
    port, controller = agent
    controller.vanish_after = 2
    out = tmp_path / "counters.csv"
    result = CliRunner().invoke(cli, _poll_args(port, out, "--count", "4"))
    assert result.exit_code == 0, result.output
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 2 and all(w.startswith("topo-opt: warning: 127.0.0.1:") and "ifHCInOctets.7 (C)" in w
                                      and "gap for 'measure rates'" in w for w in warnings)
    series = read_counters(out)
    assert len(series[("C", "ingress")].time_s) == 2 and len(series[("C", "egress")].time_s) == 4


def test_ctrl_c_exits_130_keeping_every_complete_poll(agent, tmp_path):
    port, _ = agent
    out = tmp_path / "counters.csv"
    proc = popen_with_ctrl_c([sys.executable, "-m", "topo_opt", *_poll_args(port, out, "--count", "100000")],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 1 + 3 * 4):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("topo-opt: interrupted: ")
    lines = out.read_text().splitlines()
    assert len(lines) >= 1 + 3 * 4 and (len(lines) - 1) % 4 == 0       # whole polls only
    assert f"{(len(lines) - 1) // 4} poll(s)" in stderr
    assert {len(s.time_s) for s in read_counters(out).values()} == {(len(lines) - 1) // 4}


def test_ctrl_c_before_the_first_answer_says_nothing_was_written(monkeypatch, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(snmp_poll, "poll_to_file", interrupted)
    out = tmp_path / "counters.csv"
    result = CliRunner().invoke(cli, _poll_args(161, out), prog_name="topo-opt")
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines() == [f"topo-opt: interrupted: before the first answer; {out} not written"]


@pytest.mark.parametrize("extra, message", [
    (("--interface", "99=D"), "127.0.0.1:{port}: ifHCInOctets.99 (D): No Such Instance currently exists at this OID"),
    (("--community", "private", "--timeout", "0.3"), "127.0.0.1:{port}: No SNMP response received before timeout "
                                                      "(check the host, --port and --community)"),
    (("--interface", "4=AB:reverse"), "ifIndex 3 and 4 both measure AB reverse"),
    (("--interface", "x=AB"), "--interface 'x=AB': ifIndex 'x' is not an integer"),
    (("--interval", "0"), "--interval must be a finite number of seconds > 0, got 0.0"),
])
def test_bad_poll_is_one_line_exit_2_and_writes_nothing(agent, tmp_path, extra, message):
    port, _ = agent
    out = tmp_path / "counters.csv"
    result = CliRunner().invoke(cli, _poll_args(port, out, "--count", "2", *extra), prog_name="topo-opt")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [f"topo-opt: error: {message.format(port=port)}"]
    assert not out.exists()


def test_too_big_answer_is_one_line_exit_2(agent, tmp_path):
    """tooBig comes with error index 0 and no var-binds: the message names no OID (no IndexError)."""
    port, controller = agent
    controller.too_big_above = 0
    out = tmp_path / "counters.csv"
    result = CliRunner().invoke(cli, _poll_args(port, out, "--count", "1"), prog_name="topo-opt")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [f"topo-opt: error: 127.0.0.1:{port}: SNMP error tooBig"]
    assert not out.exists()


def test_interfaces_are_asked_in_gets_of_at_most_oids_per_get(agent, tmp_path, monkeypatch):
    """With one interface per GET (3 values) and an agent refusing more, each poll is two GETs:
    ifIndex 3 answered by GETs 1, 3, ifIndex 7 by GETs 2, 4; the output folder is created."""
    port, controller = agent
    monkeypatch.setattr(snmp_poll, "OIDS_PER_GET", 3)
    controller.too_big_above = 3
    out = tmp_path / "new" / "counters.csv"
    result = CliRunner().invoke(cli, _poll_args(port, out, "--count", "2"))
    assert result.exit_code == 0, result.output
    assert controller.gets == 4
    series = read_counters(out)
    for (link, direction), oid, gets in ((("AB", "reverse"), IN + (3,), (1, 3)), (("C", "egress"), OUT + (7,), (2, 4))):
        start, step = COUNTERS[oid]
        assert series[(link, direction)].counter.tolist() == [start + n * step for n in gets]


def test_unresolvable_host_is_one_short_line(tmp_path):
    out = tmp_path / "counters.csv"
    result = CliRunner().invoke(cli, ["measure", "poll", "no.such.host.invalid", "--interface", "3=AB", "--count", "1",
                                      "--out", str(out)], prog_name="topo-opt")
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("topo-opt: error: no.such.host.invalid:161: cannot resolve the host: ")
    assert "caused by" not in line and "Bad IPv4" not in line and not out.exists()


def test_interface_specs():
    assert parse_interface("3=AB") == Interface(3, "AB", "forward")
    assert parse_interface("12=NYC:ingress").receives == "egress"
    for spec, match in (("3", "expected IFINDEX=ID"), ("0=AB", "ifIndex must be >= 1"),
                        ("3_0=AB", "ifIndex '3_0' is not an integer"), ("+3=AB", "ifIndex '\\+3' is not an integer"),
                        ("3=AB:up", "direction 'up' must be one of forward, reverse, ingress, egress")):
        with pytest.raises(InvalidInputError, match=match):
            parse_interface(spec)


def test_missing_pysnmp_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pysnmp.hlapi.v3arch", None)
    result = CliRunner().invoke(cli, ["measure", "poll", "127.0.0.1", "--interface", "3=AB", "--out",
                                      str(tmp_path / "c.csv")], prog_name="topo-opt")
    assert result.exit_code == 2
    assert result.stderr.strip() == "topo-opt: error: measure poll needs pysnmp >= 7: pip install 'topo-opt[snmp]'"
