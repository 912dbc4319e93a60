"""Per-class token-bucket descriptors (issue 17): ``evaluate --worst-case --traffic-class`` and
``--traffic FILE``, their precedence over the instance and ``--burst``, and bad descriptors."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli
from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.worst_case import worst_case_delays
from topo_opt.io.native_json import loads_json
from topo_opt.io.solution_json import read_design
from topo_opt.io.traffic_classes import parse_traffic_class, read_traffic_classes
from topo_opt.model.traffic import TrafficClass, TrafficDescriptors, class_members, traffic_descriptors

ROOT = Path(__file__).resolve().parents[1]
SIX = ROOT / "instances" / "six-node.json"
M = 12_000.0


def _six(**demand_fields):
    doc = json.loads(SIX.read_text())
    for demand in doc["demands"]:
        demand.update(demand_fields.get(demand["id"], {}))
    return loads_json(json.dumps(doc))


# ------------------------------------------------------------------------------ the model
def test_class_fields_win_over_the_demand_the_card_and_the_default():
    network = _six(AB={"burst": 5e5, "token_rate": 9e8, "class": "gold"}, BA={"class": "gold"},
                   BD={"peak_rate": 6e8})
    classes = [TrafficClass("video", burst=2e5, peak_rate=1e9, demands=("A*",)),
               TrafficClass("gold", token_rate=8.5e8)]      # by the demands' class field
    k = {d.id: i for i, d in enumerate(network.demands)}
    # AB: gold (class field) and A* (pattern) -- two classes claim it
    assert [c.name if c else None for c in class_members(network, classes[:1])][k["AB"]] == "video"
    with pytest.raises(InvalidInputError, match="demand 'AB' is in traffic classes 'video' and 'gold'"):
        traffic_descriptors(network, classes=classes)
    classes[0] = TrafficClass("video", burst=2e5, peak_rate=1e9, demands=("AC", "AF"))
    traffic = traffic_descriptors(network, burst=3e4, class_burst={"gold": 7e4}, classes=classes)
    # video sets burst and peak; its token rate is each demand's own rate
    assert traffic.burst[k["AC"]] == 2e5 and traffic.peak_rate[k["AF"]] == 1e9
    assert traffic.token_rate[k["AC"]] == network.demands[k["AC"]].rate
    # gold sets the token rate only: AB keeps its own burst, BA takes the card's class burst
    assert traffic.token_rate[k["AB"]] == traffic.token_rate[k["BA"]] == 8.5e8
    assert traffic.burst[k["AB"]] == 5e5 and traffic.burst[k["BA"]] == 7e4
    # demands in no class: own fields, else --burst, no peak rate
    assert traffic.peak_rate[k["BD"]] == 6e8 and traffic.burst[k["BD"]] == 3e4
    assert np.isinf(traffic.peak_rate[k["CD"]]) and traffic.burst[k["CD"]] == 3e4


@pytest.mark.parametrize("classes, match", [
    ([TrafficClass("a", burst=2e4), TrafficClass("a", burst=3e4, demands=("AB",))], "'a' is given twice"),
    ([TrafficClass("voice", burst=2e4)], "no demand has class 'voice'; give demand id patterns"),
    ([TrafficClass("v", burst=2e4, demands=("AB", "Z*"))], "pattern 'Z\\*' matches no demand of 'six-node'"),
    ([TrafficClass("v", token_rate=5e8, demands=("AB",))], r"'AB' \(traffic class 'v'\): token rate 5e\+08 .* below the demand's rate 8e\+08"),
    ([TrafficClass("v", peak_rate=5e8, demands=("AB",))], "peak rate 5e.08 bit/s is below"),
    ([TrafficClass("v", burst=1e3, demands=("AB",))], "burst must be a finite number >= the max packet 12000"),
])
def test_class_assignment_errors_name_the_class(classes, match):
    with pytest.raises(InvalidInputError, match=match):
        traffic_descriptors(_six(), classes=classes)


def test_pattern_on_an_instance_without_demands_is_an_error_not_a_crash():
    network = loads_json(json.dumps({**json.loads(SIX.read_text()), "demands": []}))
    with pytest.raises(InvalidInputError, match=r"pattern 'A\*' matches no demand of 'six-node' \(it has none\)"):
        traffic_descriptors(network, classes=[TrafficClass("v", burst=2e4, demands=("A*",))])


# ------------------------------------------------------------------------------ parsing
def test_spec_and_files_toml_and_json_give_the_same_classes(tmp_path):
    expected = [TrafficClass("voice", burst=24000.0, peak_rate=1e9, demands=("A*", "*B")),
                TrafficClass("bulk", burst=4e6, token_rate=2e9)]
    specs = ["voice:burst=24000,peak=1e9,demands=A*|*B", "bulk:burst=4e6,rate=2e9"]
    assert [parse_traffic_class(s) for s in specs] == expected
    (tmp_path / "t.toml").write_text('[classes.voice]\nburst = 24000\npeak = 1e9\ndemands = ["A*", "*B"]\n'
                                     '[classes.bulk]\nburst = 4e6\nrate = 2e9\n')
    (tmp_path / "t.json").write_text(json.dumps({"classes": {"voice": {"burst": 24000, "peak": 1e9, "demands": ["A*", "*B"]},
                                                             "bulk": {"burst": 4e6, "rate": 2e9}}}))
    assert read_traffic_classes(tmp_path / "t.toml") == read_traffic_classes(tmp_path / "t.json") == expected


@pytest.mark.parametrize("spec, match", [
    ("voice", r"expected NAME:burst=B"),
    (":burst=1e4", "the class needs a name"),
    ("voice:burst", "'burst' is not KEY=VALUE"),
    ("voice:burst=x", "malformed number 'x' in burst"),
    ("voice:burst=-1", "burst must be a finite number > 0, got -1.0"),
    ("voice:burst=inf", "burst must be a finite number > 0, got inf"),
    ("voice:bogus=1", "unknown key 'bogus'"),
    ("voice:burst=1e4,burst=2e4", "burst is given twice"),
    ("voice:demands=A*", "sets none of burst, rate, peak"),
])
def test_bad_spec(spec, match):
    with pytest.raises(InvalidInputError, match=match):
        parse_traffic_class(spec)


@pytest.mark.parametrize("text, match", [
    ("[classes.v]\nburst = 'big'\n", "t.txt: classes.v: malformed number 'big' in burst"),
    ("[classes.v]\nburst = true\n", "burst must be a number, got True"),
    ("[classes.v]\nburst = 1e4\ndemands = [1]\n", "demands must be a list of demand id patterns"),
    ("[klasses.v]\nburst = 1e4\n", "unknown key 'klasses'; expected 'classes'"),
    ("classes = 3\n", "no traffic classes"),
    ("[classes\n", "t.txt: invalid TOML"),
    ('{"classes": {"v": {"burst": 1e4,}}}', "t.txt:1: invalid JSON"),
])
def test_bad_file(tmp_path, text, match):
    (tmp_path / "t.txt").write_text(text)
    with pytest.raises(InvalidInputError, match=match):
        read_traffic_classes(tmp_path / "t.txt")


# ------------------------------------------------------------------------------ the command
@pytest.fixture(scope="module")
def solution(tmp_path_factory):
    path = tmp_path_factory.mktemp("wc") / "sol.json"
    result = CliRunner().invoke(cli, ["solve", str(SIX), "--model", str(ROOT / "models/routing-baseline.toml"),
                                      "--out", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    return path


def _evaluate(solution, tmp_path, *args):
    out = tmp_path / "ev.json"
    result = CliRunner().invoke(cli, ["evaluate", str(SIX), str(solution), "--no-links", "--worst-case",
                                      *args, "--out", str(out)], prog_name="topo-opt")
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text()), result.stdout


def test_one_class_over_every_demand_equals_burst_option(solution, tmp_path):
    by_class, _ = _evaluate(solution, tmp_path, "--traffic-class", "all:burst=60000,demands=*")
    by_burst, _ = _evaluate(solution, tmp_path, "--burst", "60000")
    for a, b in zip(by_class["demands"], by_burst["demands"]):
        assert a["traffic_class"] == "all" and b["traffic_class"] is None
        assert {k: a[k] for k in ("tfa_delay_s", "sfa_delay_s", "regulated_delay_s")} == \
               {k: b[k] for k in ("tfa_delay_s", "sfa_delay_s", "regulated_delay_s")}


def test_class_bursts_reach_the_regulated_bound_as_a_hand_sum(solution, tmp_path):
    """Regulated bound per hop: (M + Σ bursts through the queue)/C (no peak rates), plus fixed
    delays -- summed by hand from the class assignment, not through traffic_descriptors."""
    (tmp_path / "classes.toml").write_text('[classes.big]\nburst = 400000\ndemands = ["A?", "?A"]\n')
    doc, stdout = _evaluate(solution, tmp_path, "--traffic", str(tmp_path / "classes.toml"),
                            "--traffic-class", "small:burst=12000,demands=C[BD]", "--burst", "50000")
    assert "class" in stdout and "big" in stdout
    network = loads_json(SIX.read_text())
    design = read_design(str(solution), network)
    burst = np.array([4e5 if "A" in d.id else 12_000.0 if d.id.startswith("C") else 5e4 for d in network.demands])
    assert [d["burst"] for d in doc["demands"]] == burst.tolist()
    assert doc["worst_case"]["classes"][0] == {"name": "big", "burst": 4e5, "token_rate": None, "peak_rate": None,
                                               "demands": [d.id for d in network.demands if "A" in d.id]}
    routing = design.routing
    at_queue = np.bincount(network.arc_queue[routing.arcs], minlength=network.n_queues,
                           weights=np.repeat(burst[routing.demand], np.diff(routing.indptr)))
    hop = (M + at_queue) / network.queue_capacity()
    for k, demand in enumerate(doc["demands"]):
        expected = max(hop[network.arc_queue[routing.path_arcs(p)]].sum()
                       + network.arc_fixed_delay_s[routing.path_arcs(p)].sum() for p in np.flatnonzero(routing.demand == k))
        assert demand["regulated_delay_s"] == pytest.approx(expected, rel=1e-12)


def test_peak_rate_class_gives_the_dual_bucket_bounds_and_tightens_them(solution, tmp_path):
    doc, _ = _evaluate(solution, tmp_path, "--traffic-class", "paced:burst=200000,peak=1e9,demands=*")
    network = loads_json(SIX.read_text())
    design = read_design(str(solution), network)
    n = network.n_demands
    rates = np.array([d.rate for d in network.demands])
    paced = worst_case_delays(network, design, TrafficDescriptors(np.full(n, 2e5), rates, np.full(n, 1e9), M))
    plain = worst_case_delays(network, design, TrafficDescriptors(np.full(n, 2e5), rates, np.full(n, np.inf), M))
    for k, demand in enumerate(doc["demands"]):
        assert demand["peak_rate"] == 1e9 and demand["token_rate"] == rates[k]
        assert demand["tfa_delay_s"] == pytest.approx(paced.demand_delay_s["tfa"][k], rel=1e-12)
    assert np.all(paced.demand_delay_s["tfa"] <= plain.demand_delay_s["tfa"] * (1 + 1e-12))
    assert np.any(paced.demand_delay_s["tfa"] < plain.demand_delay_s["tfa"] * (1 - 1e-3))


@pytest.mark.parametrize("args, message", [
    (("--traffic-class", "voice:burst=x"), "--traffic-class 'voice:burst=x': malformed number 'x' in burst"),
    (("--traffic-class", "voice:burst=2e4,demands=Q*"), "traffic class 'voice': pattern 'Q*' matches no demand of 'six-node' (e.g. 'BD')"),
    (("--traffic-class", "v:rate=1,demands=AB"), "demand 'AB' (traffic class 'v'): token rate 1 bit/s is below the demand's rate 8e+08 bit/s"),
    (("--traffic", "{missing}"), "missing.toml: cannot read file: No such file or directory"),
])
def test_bad_descriptor_is_one_line_exit_2_before_any_output(solution, tmp_path, args, message):
    out = tmp_path / "ev.json"
    result = CliRunner().invoke(cli, ["evaluate", str(SIX), str(solution), "--worst-case", "--out", str(out),
                                      *(a.format(missing=tmp_path / "missing.toml") for a in args)],
                                prog_name="topo-opt")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"topo-opt: error: {message}"]
    assert result.stdout == "" and not out.exists()


def test_traffic_classes_need_worst_case(solution):
    result = CliRunner().invoke(cli, ["evaluate", str(SIX), str(solution), "--traffic-class", "v:burst=2e4"],
                                prog_name="topo-opt")
    assert result.exit_code == 2
    assert "describe traffic for --worst-case" in result.stderr


def test_example_descriptor_file_fits_abilene():
    from topo_opt.io.detect import read_instance
    network = read_instance(ROOT / "instances" / "abilene.json")
    classes = read_traffic_classes(ROOT / "examples" / "traffic-classes.toml")
    members = class_members(network, classes)
    assert {c.name for c in classes} == {m.name for m in members if m} == {"voice", "bulk"}
    traffic = traffic_descriptors(network, burst=1e6, classes=classes)
    assert sorted(set(traffic.burst.tolist())) == [24000.0, 1e6, 4e6]
