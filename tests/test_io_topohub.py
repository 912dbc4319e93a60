"""topohub graphs as instances (``topohub:GROUP/NAME``): reader, sizing, command line, errors."""
import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from topo_opt.algorithms.baselines import min_hop_routing
from topo_opt.errors import InvalidInputError, SolverUnavailableError
from topo_opt.io.detect import read_instance
from topo_opt.io.topohub import GRAVITY_TOTAL_BPS, read_topohub
from topo_opt.model.synthesis import STANDARD_LINE_RATES
from topo_opt.solve.instance_loader import read_network
from conftest import REPO

pytest.importorskip("topohub", reason="topohub is not installed (pip install -e '.[test]')")

# key -> (nodes, distinct links), counted from topohub 1.5's node-link files
KEYS = {"topozoo/Abilene": (11, 14), "gabriel/25/0": (25, 40), "sndlib/polska": (12, 18),
        "topozoo/Uninett2011": (66, 93), "sndlib/pioro40": (40, 89)}


@pytest.mark.parametrize("key", KEYS)
def test_reader_builds_the_graph_with_gravity_demands(key):
    network = read_topohub(f"topohub:{key}", missing_capacity_bps=1e9)
    assert (network.n_nodes, network.n_links) == KEYS[key]
    n = network.n_nodes
    assert network.n_demands == n * (n - 1)  # every ordered pair: degree masses are all > 0
    assert network.demand_rate.sum() == pytest.approx(GRAVITY_TOTAL_BPS, rel=1e-12)
    # gravity with masses = degree: r_st / r_uv = d_s d_t / (d_u d_v)
    degree = np.bincount(np.concatenate([network.link_source, network.link_target]), minlength=n)
    ratio = network.demand_rate / (degree[network.demand_source] * degree[network.demand_target])
    assert np.allclose(ratio, ratio[0], rtol=1e-12)
    assert network.metadata["capacity_rule"]["capacity_bps"] == 1e9
    if key.startswith("gabriel/") or key == "sndlib/pioro40":  # planar points: no great-circle lengths
        assert np.all(np.isnan(network.link_length_m))
        assert all(n.longitude is None for n in network.nodes) and len(network.metadata["node_xy"]) == n
    else:  # topohub's own edge attribute "dist" (km), computed from coordinates before topohub
        # rounded them to 0.01° (≈ 1.1 km): hence the absolute tolerance
        import topohub

        dist_km = {"-".join(sorted((str(e["source"]), str(e["target"])))): e["dist"]
                   for e in topohub.get(key)["edges"]}
        expected = np.array([dist_km["-".join(sorted((link.source, link.target)))] for link in network.links])
        assert np.allclose(network.link_length_m, expected * 1e3, rtol=5e-3, atol=1.5e3)


def test_without_a_capacity_rule_the_first_link_is_an_error():
    with pytest.raises(InvalidInputError, match=r"topohub:topozoo/Abilene: link '0-1' has no capacity "
                                                r"\(14 of 14 links have none\); size links"):
        read_instance("topohub:topozoo/Abilene")


@pytest.mark.parametrize("key", ["topozoo/Abilene", "gabriel/50/0"])
def test_command_line_reader_sizes_links_for_half_load_under_min_hop(key):
    network = read_network(f"topohub:{key}", "auto")
    load = network.queue_load(min_hop_routing(network).arc_flow(network.demand_rate, network.n_arcs))
    capacity = network.queue_capacity()
    assert np.all(load <= 0.5 * capacity * (1 + 1e-12))
    assert set(np.unique(network.link_capacity)) <= set(STANDARD_LINE_RATES)
    # the smallest line rate that does it: one step down would exceed 50 % on some queue of the link
    rates = np.array(STANDARD_LINE_RATES)
    for link, cap in enumerate(network.link_capacity):
        smaller = rates[rates < cap]
        link_load = load[network.queue_link == link].max() if np.any(network.queue_link == link) else 0.0
        assert smaller.size == 0 or link_load > 0.5 * smaller[-1]


def test_unknown_key_is_one_line_with_near_names():
    with pytest.raises(InvalidInputError, match=r"topohub:topozoo/Uninet2011: no such topohub graph "
                                                r"\(keys are topozoo/NAME, gabriel/N/I, sndlib/NAME, "
                                                r"backbone/REGION.*did you mean topohub:topozoo/Uninett2011"):
        read_topohub("topohub:topozoo/Uninet2011", missing_capacity_bps=1e9)
    with pytest.raises(InvalidInputError, match=r"topohub:nogroup/x: no such topohub graph"):
        read_topohub("topohub:nogroup/x", missing_capacity_bps=1e9)


def test_missing_package_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "topohub" else real(name, *a))
    with pytest.raises(SolverUnavailableError, match=r"pip install 'topo-opt\[topohub\]'"):
        read_topohub("topohub:topozoo/Abilene", missing_capacity_bps=1e9)


def run(*args):
    return subprocess.run([sys.executable, "-m", "topo_opt", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={"PYTHONPATH": str(REPO), "PATH": ""})


def test_command_line_solves_a_topohub_graph_and_rejects_an_unknown_key(tmp_path):
    out = tmp_path / "sol.json"
    proc = run("solve", "topohub:topozoo/Abilene", "--model", "min-delay", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    import json
    doc = json.loads(out.read_text())
    assert doc["status"] == "optimal" and doc["instance"] == {"name": "topozoo-Abilene",
                                                              "file": "topohub:topozoo/Abilene", "sha256": None}
    proc = run("solve", "topohub:topozoo/Nope", "--model", "min-delay")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "no such topohub graph" in proc.stderr
    # the report reads the graph back by its key, sized by the same rule: no --instance needed
    html = tmp_path / "report.html"
    proc = run("report", str(out), "--out", str(html), "--no-png")
    assert proc.returncode == 0, proc.stderr
    assert "topozoo-Abilene" in html.read_text()


def test_batch_takes_topohub_keys_and_refuses_an_unknown_one_before_any_job(tmp_path):
    out = tmp_path / "runs"
    proc = run("batch", "topohub:topozoo/Abilene", "abilene", "--model", "min-delay", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    import csv
    rows = {row["instance"]: row for row in csv.DictReader((out / "results.csv").open())}
    assert set(rows) == {"topozoo-Abilene", "abilene"}  # the graph's network name, the bundled file's stem
    assert all(row["status"] == "optimal" for row in rows.values())
    # the topohub job solved the sized graph the solve command solves: the same delay
    single = tmp_path / "single.json"
    assert run("solve", "topohub:topozoo/Abilene", "--model", "min-delay", "--out", str(single)).returncode == 0
    import json
    expected = json.loads(single.read_text())["objective"]
    assert float(rows["topozoo-Abilene"]["objective"]) == pytest.approx(expected, rel=1e-6)
    proc = run("batch", "topohub:topozoo/Nope", "--model", "min-delay", "--out", str(tmp_path / "bad"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no such topohub graph" in proc.stderr
    assert not (tmp_path / "bad").exists()


def test_batch_rows_and_solution_files_name_a_topohub_graph_by_its_network_name():
    from topo_opt.batch.grid import expand_jobs
    from topo_opt.batch.spec import BatchSpec, ModelEntry

    jobs = expand_jobs(BatchSpec(instances=("topohub:gabriel/25/0", "topohub:gabriel/50/0"),
                                 models=(ModelEntry("min-delay"),)))
    # as solve names the network; the key's last part would call both "0"
    assert [j.identity_row()["instance"] for j in jobs] == ["gabriel-25-0", "gabriel-50-0"]
    assert [j.solution_name.split("__")[0] for j in jobs] == ["gabriel-25-0", "gabriel-50-0"]
    assert [read_network(j.instance).name for j in jobs] == ["gabriel-25-0", "gabriel-50-0"]


def test_batch_checks_a_topohub_key_without_reading_and_sizing_its_network(monkeypatch):
    """Each job reads and sizes its instance; making the jobs only checks that the key exists."""
    from topo_opt.algorithms import baselines
    from topo_opt.batch.grid import expand_jobs
    from topo_opt.batch.spec import BatchSpec, ModelEntry

    def sized(*args, **kwargs):
        raise AssertionError("the batch sized a topohub network before its job")

    monkeypatch.setattr(baselines, "min_hop_sized", sized)
    jobs = expand_jobs(BatchSpec(instances=("topohub:gabriel/25/0",), models=(ModelEntry("min-delay"),)))
    assert [j.instance for j in jobs] == ["topohub:gabriel/25/0"]
    with pytest.raises(InvalidInputError, match="no such topohub graph"):
        expand_jobs(BatchSpec(instances=("topohub:gabriel/25/99",), models=(ModelEntry("min-delay"),)))
