"""topo-opt report: solution and batch reports, their numbers, instance hash checks."""
from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli
from topo_opt.errors import InvalidInputError
from topo_opt.report import batch_view
from topo_opt.report.build import write_report
from topo_opt.report.interactive import map_figure, power_figure
from topo_opt.report.solution import load_solution_report

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """An abilene min-delay solution written by `topo-opt solve --out`, with its instance copy."""
    folder = tmp_path_factory.mktemp("solved")
    instance = folder / "abilene.json"
    shutil.copy(ROOT / "instances/abilene.json", instance)
    solution = folder / "solution.json"
    result = CliRunner().invoke(cli, ["solve", str(instance), "--model", str(ROOT / "models/min-delay.toml"),
                                      "--out", str(solution), "--quiet"])
    assert result.exit_code == 0, result.output
    return solution, instance


def test_solution_report_html_is_self_contained_and_carries_the_solution_numbers(solved, tmp_path):
    solution, _ = solved
    files = write_report(solution, tmp_path / "r.html")
    assert [f.name for f in files] == ["r.html", "r-map.png", "r-links.png", "r-demands.png"]
    for png in files[1:]:
        assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 5000
    text = files[0].read_text()
    doc = json.loads(solution.read_text())
    assert not re.search(r"<script[^>]+src=", text)  # plotly.js is inline, nothing is fetched
    assert text.count("Plotly.newPlot") == 3  # map, link bars, demand delays (no power here)
    value = re.search(r'data-key="objective \(s\)" data-value="([^"]+)"', text).group(1)
    assert float(value) == doc["objective"]
    assert float(re.search(r'data-key="gap" data-value="([^"]+)"', text).group(1)) == doc["gap"]


def test_map_colours_each_link_by_its_busier_direction(solved):
    solution, _ = solved
    report = load_solution_report(solution)
    assert report.geographic  # abilene has coordinates: the map is in longitude/latitude
    doc = report.doc
    busiest = {}
    for arc in doc["arcs"]:
        busiest[arc["link"]] = max(busiest.get(arc["link"], 0.0), arc["utilization"])
    view = report.links()
    assert view.ids == [link["id"] for link in doc["links"]]
    np.testing.assert_array_equal(view.utilization, [busiest[i] for i in view.ids])
    markers = next(t for t in map_figure(report).data if t.name == "links")
    np.testing.assert_array_equal(markers.marker.color, view.utilization)
    node = report.network.nodes[0]
    assert report.positions[node.id] == (node.longitude, node.latitude)


def test_changed_or_missing_instance_is_a_clear_error(solved, tmp_path):
    solution, instance = solved
    doc = json.loads(solution.read_text())
    edited = tmp_path / "abilene.json"
    edited.write_text(instance.read_text().replace('"name": "abilene"', '"name": "abilene-edited"'))
    with pytest.raises(InvalidInputError, match="has SHA-256 .* but the solution was made on"):
        load_solution_report(solution, instance=edited)
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps({**doc, "instance": {**doc["instance"], "file": str(tmp_path / "gone.json")}}))
    result = CliRunner().invoke(cli, ["report", str(moved), "--out", str(tmp_path / "x.html")])
    assert result.exit_code == 2
    assert "gone.json' not found" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.html").exists()
    # --instance points to the right file when it was moved
    result = CliRunner().invoke(cli, ["report", str(moved), "--instance", str(instance), "--out",
                                      str(tmp_path / "y.html"), "--no-png"])
    assert result.exit_code == 0, result.output
    assert list(tmp_path.glob("y*")) == [tmp_path / "y.html"]
    # or names the bundled instance, as for solve (same file, so the SHA-256 check passes)
    assert load_solution_report(moved, instance="abilene").network.name == "abilene"
    result = CliRunner().invoke(cli, ["report", str(moved), "--instance", "no-such-instance", "--out",
                                      str(tmp_path / "z.html"), "--no-png"])
    assert result.exit_code == 2 and "bundled instances: abilene" in result.output


def test_layout_without_coordinates_and_power_panel(tmp_path):
    """An instance without coordinates is drawn with a seeded layout; power is drawn when present."""
    network_doc = json.loads((ROOT / "instances/six-node.json").read_text())
    for node in network_doc["nodes"]:
        node.pop("longitude", None), node.pop("latitude", None)
    instance = tmp_path / "plain.json"
    instance.write_text(json.dumps(network_doc))
    solution = tmp_path / "s.json"
    result = CliRunner().invoke(cli, ["solve", str(instance), "--model", str(ROOT / "models/min-delay.toml"),
                                      "--out", str(solution), "--quiet"])
    assert result.exit_code == 0, result.output
    report = load_solution_report(solution)
    assert not report.geographic and len(report.positions) == 6
    assert load_solution_report(solution).positions == report.positions  # seeded: reproducible
    doc = {**report.doc, "metrics": {**report.doc["metrics"], "total_power_w": 60.0, "chassis_power_w": 30.0,
                                     "port_power_w": 20.0, "load_power_w": 10.0}}
    fig = power_figure(doc)
    assert list(fig.data[0].y) == [30.0, 20.0, 10.0]
    assert power_figure(report.doc) is None


def test_batch_report_plots_delay_against_demand_growth(tmp_path):
    from topo_opt.batch.table import ResultsTable

    table = ResultsTable(tmp_path)
    delays = {1.0: 0.010, 1.1: 0.011, 1.2: 0.013}
    for i, (scale, delay) in enumerate(delays.items()):
        for model, objective, bound in (("exact", delay, delay * 0.999), ("ga", delay * 1.1, math.nan)):
            table.add({"job_id": f"{model}{i}", "instance": "abilene", "model": model, "scenario": f"x{scale}",
                       "demand_scale": scale, "status": "optimal", "objective_name": "average_delay_s",
                       "objective": objective, "lower_bound": None if math.isnan(bound) else bound,
                       "average_delay_s": objective, "total_power_w": 100.0 * scale})
    rows = table.rows
    growth = batch_view.growth_series(rows)
    assert growth["abilene / exact"] == ([1.0, 1.1, 1.2], [0.010, 0.011, 0.013])
    gaps = batch_view.bound_gaps(rows)
    np.testing.assert_allclose(gaps["ga"][1], [(1.1 - 0.999) / 1.1] * 3)
    np.testing.assert_allclose(gaps["exact"][1], [0.001] * 3)
    files = write_report(tmp_path / "results.csv", tmp_path / "batch.html")
    assert [f.name for f in files] == ["batch.html", "batch-growth.png", "batch-power.png", "batch-gaps.png"]
    text = files[0].read_text()
    assert text.count("Plotly.newPlot") == 3 and 'id="jobs"' in text and 'id="status-counts"' in text
    with pytest.raises(InvalidInputError, match="no job_id column"):
        (tmp_path / "other.csv").write_text("a,b\n1,2\n")
        write_report(tmp_path / "other.csv", tmp_path / "o.html")
