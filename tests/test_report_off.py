"""Reports of min-power designs show what is switched off (issue 12, defect 2), and the per-link
PNG stays readable on big networks (defect 9)."""
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import topo_opt.report.static as static
from topo_opt.cli.main import cli
from topo_opt.report.build import write_report
from topo_opt.report.interactive import link_bars_figure, map_figure
from topo_opt.report.solution import load_solution_report

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def seven(tmp_path_factory):
    """six-node plus a transit router G (links A-G, G-D, no demands of its own): the min-power
    MILP switches G and both its links off."""
    folder = tmp_path_factory.mktemp("seven")
    doc = json.loads((ROOT / "instances" / "six-node.json").read_text())
    doc["nodes"].append({"id": "G"})
    doc["links"] += [{"id": "AG", "source": "A", "target": "G", "capacity": 1e10},
                     {"id": "GD", "source": "G", "target": "D", "capacity": 1e10}]
    instance = folder / "seven.json"
    instance.write_text(json.dumps(doc))
    solution = folder / "solution.json"
    result = CliRunner().invoke(cli, ["solve", str(instance), "--model", str(ROOT / "models" / "earp-min-power.toml"),
                                      "--quiet", "--out", str(solution)])
    assert result.exit_code == 0, result.output
    return solution, result.output


def test_solve_lists_what_is_off(seven):
    solution, output = seven
    doc = json.loads(solution.read_text())
    assert {link["id"] for link in doc["links"] if not link["on"]} == {"AG", "GD"} and doc["nodes_off"] == ["G"]
    assert "links off (2)" in output and "AG, GD" in output and "nodes off (1)" in output


def test_html_map_draws_off_links_dashed_and_lists_them(seven, tmp_path):
    solution, _ = seven
    report = load_solution_report(solution)
    fig = map_figure(report)
    off = [t for t in fig.data if t.name == "link switched off (2)"]
    assert len(off) == 1 and off[0].line.dash == "dash"
    assert [x for x in off[0].x if x is not None] == [report.positions[n][0] for n in ("A", "G", "G", "D")]
    on_lines = [t for t in fig.data if t.mode == "lines" and t not in off]
    assert sum(x is None for t in on_lines for x in t.x) == 8  # the six-node ring's links only
    assert [t.text for t in fig.data if t.name == "node switched off (1)"] == [("G",)]
    bars = link_bars_figure(report.doc)
    assert not {"A→G", "G→A", "G→D", "D→G"} & set(bars.data[0].x)  # no 0 % bars for links that are off
    html = write_report(solution, tmp_path / "r.html", png=False)[0].read_text()
    assert "Switched off: 2 links, 1 nodes" in html
    table = html[html.index('<table id="links-off">'):]
    assert table.index(">AG<") < table.index(">GD<") < table.index("</table>")
    assert '<table id="nodes-off">' in html and ">G<" in html[html.index('<table id="nodes-off">'):]


def test_png_map_draws_off_links_dashed_and_off_nodes_hollow(seven, tmp_path, monkeypatch):
    solution, _ = seven
    figures = []
    monkeypatch.setattr(static, "save_png", lambda fig, path: figures.append(fig) or path)
    static.map_png(load_solution_report(solution), tmp_path / "m.png")
    ax = figures[0].axes[0]
    off = [c for c in ax.collections if c.get_label() == "link switched off (2)"]
    assert len(off) == 1 and len(off[0].get_segments()) == 2
    assert off[0].get_linestyle()[0][1] is not None  # a dash pattern, not a solid line
    nodes = [c for c in ax.collections if c.get_label() == "node switched off (1)"]
    assert len(nodes) == 1 and tuple(nodes[0].get_facecolor()[0]) == (1.0, 1.0, 1.0, 1.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["link switched off (2)", "node switched off (1)"]


def _big_doc(n_arcs: int) -> dict:
    rng = np.random.default_rng(0)
    util = rng.uniform(0, 0.9, n_arcs)
    arcs = [{"link": f"L{i // 2}", "from": f"n{i}", "to": f"n{i + 1}", "utilization": float(u),
             "queue_delay_s": float(u) * 1e-3, "fixed_delay_s": 1e-3} for i, u in enumerate(util)]
    return {"arcs": arcs, "links": [{"id": f"L{i}", "on": True} for i in range(n_arcs // 2)]}


def test_link_png_of_a_big_network_is_readable(tmp_path, monkeypatch):
    doc = _big_doc(1680)  # planar300: 1,680 arcs gave a 28,231 x 653 px strip of 6-point labels
    path = static.link_bars_png(doc, tmp_path / "links.png")
    width, height = Image.open(path).size
    assert width <= 1400 and height <= 1400
    figures = []
    monkeypatch.setattr(static, "save_png", lambda fig, p: figures.append(fig) or p)
    static.link_bars_png(doc, tmp_path / "again.png")
    bars_axis = figures[0].axes[0]
    labels = [t.get_text() for t in bars_axis.get_yticklabels()]
    busiest = sorted(doc["arcs"], key=lambda a: -a["utilization"])[:static.TOP_ARCS]
    assert labels == [f"{a['from']}→{a['to']}" for a in busiest]  # no repeated link id in the label
    assert min(t.get_fontsize() for t in bars_axis.get_yticklabels()) >= 8
    assert sum(p.get_height() for p in figures[0].axes[2].patches) == 1680  # histogram of every arc
