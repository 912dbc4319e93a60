"""The HTML report in a real headless Chromium (Debian's /usr/bin/chromium, never a download).

Skipped when Chromium or playwright is missing, unless TOPO_OPT_REQUIRE_BROWSER=1 (set by
.ci/run), where it fails instead.  The screenshot is kept in tests/artifacts/ (git-ignored).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("TOPO_OPT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
REQUIRED = os.environ.get("TOPO_OPT_REQUIRE_BROWSER") == "1"


def _browser_or_skip():
    missing = None if Path(CHROMIUM).exists() else f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = missing or "playwright is not installed"
        sync_playwright = None
    if missing:
        if REQUIRED:
            pytest.fail(f"TOPO_OPT_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    return sync_playwright


def test_report_renders_in_headless_chromium_without_errors_and_shows_the_solution(tmp_path):
    sync_playwright = _browser_or_skip()
    solution = tmp_path / "solution.json"
    runner = CliRunner()
    result = runner.invoke(cli, ["solve", str(ROOT / "instances/abilene.json"), "--model",
                                 str(ROOT / "models/min-delay.toml"), "--out", str(solution), "--quiet"])
    assert result.exit_code == 0, result.output
    html = tmp_path / "report.html"
    result = runner.invoke(cli, ["report", str(solution), "--out", str(html), "--no-png"])
    assert result.exit_code == 0, result.output
    doc = json.loads(solution.read_text())

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(  # a fresh profile folder (--user-data-dir)
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            viewport={"width": 1280, "height": 900},
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page()
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda req: errors.append(f"network request {req.url}")
                    if not req.url.startswith(("file:", "data:", "blob:")) else None)
            page.goto(html.as_uri())
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3")
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(shot, ARTIFACTS / "report-abilene.png")
            cells = page.eval_on_selector_all(
                "#summary td[data-key]", "cells => cells.map(c => [c.dataset.key, c.textContent, c.dataset.value])")
            bars = page.evaluate("document.getElementById('link-bars').data[0].y")
            delays = page.evaluate("document.getElementById('demand-delays').data[0].x")
            drawn_bars = page.evaluate("document.querySelectorAll('#link-bars .trace.bars .point').length")
        finally:
            browser.close()

    assert errors == []
    shown = {key: (text, value) for key, text, value in cells}
    assert shown["status"][0] == doc["status"]
    for key, name in (("objective (s)", "objective"), ("lower_bound (s)", "lower_bound"), ("gap", "gap")):
        text, exact = shown[key]
        assert float(exact) == doc[name]
        assert float(text) == pytest.approx(doc[name], rel=5e-6)  # 6 significant digits on screen
    assert bars == [arc["utilization"] for arc in doc["arcs"]]
    assert drawn_bars >= len(doc["arcs"])  # utilisation and delay bars are drawn, not just data
    assert delays == [d["delay_s"] for d in doc["demands"]]
    assert shot.read_bytes()[:4] == b"\x89PNG"
