"""``topo-opt whatif``: demand growth and failure scenarios, with the cheapest capacity upgrades."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click
from rich.table import Table

from topo_opt.cli.attack_options import attack_options, run_attack
from topo_opt.cli.console import (
    FORMAT_CHOICES, TABLE_SUFFIXES, card_options, checked_output, checked_plot, exit_interrupted, fmt_value,
    say_written, stdout,
)
from topo_opt.errors import InvalidInputError
from topo_opt.solve.instance_loader import read_network

COST_UNIT = "cost unit"  # the instance's module costs (SNDlib: unitless money)


def _failure_specs(values: tuple[str, ...]) -> list[str]:
    """``--fail`` values, repeatable and comma-separated, as a flat list."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _modules_text(modules: list[dict], sep: str) -> str:
    return sep.join(f"{m['link']} +{m['count']}x{fmt_value(m['module_capacity'])}" for m in modules)


def _csv_text(records: list[dict], columns: tuple[str, ...]) -> str:
    from topo_opt.io.csv_table import csv_text
    from topo_opt.io.solution_json import json_clean  # NaN -> None -> empty cell

    return csv_text(({**record, "failed_links": ";".join(record["failed_links"]),
                      "failed_nodes": ";".join(record["failed_nodes"]),
                      "modules_added": _modules_text(record["modules_added"], ";")}
                     for record in map(json_clean, records)), columns)


def _json_text(result, network, instance: str, max_delay_source: str) -> str:
    from topo_opt.io.solution_json import json_clean

    doc = {"format": "topo-opt/whatif", "version": 1,
           "instance": {"name": network.name, "file": instance},
           "units": {"rate": network.rate_unit, "delay": "s", "cost": COST_UNIT},
           "max_delay_s": result.max_delay_s, "max_delay_source": max_delay_source,
           "options": asdict(result.options), "scenarios": result.records}
    return json.dumps(json_clean(doc), indent=1) + "\n"


def _print_table(result, rate_unit: str) -> None:
    table = Table(title=f"{result.network_name}: what-if (T_max = {result.max_delay_s:.6g} s)",
                  caption=f"T: average delay (Kleinrock), worst: slowest demand, both under min-delay routing; "
                          f"cost in {COST_UNIT}s, module capacities in {rate_unit}")
    for column in ("failed", "demand x", "status", "T (s)", "worst (s)", "max util", "T<=max", "upgrade",
                   "cost", "modules added", "upgraded T (s)"):
        table.add_column(column, overflow="fold", no_wrap=column != "modules added",
                         justify="left" if column in ("failed", "status", "upgrade", "modules added") else "right")
    for r in result.records:
        meets = "" if r["meets_max_delay"] is None else ("yes" if r["meets_max_delay"] else "no")
        table.add_row(", ".join(r["failed_links"] + r["failed_nodes"]) or "-", f"{r['demand_scale']:g}",
                      r["status"], fmt_value(r["average_delay_s"]), fmt_value(r["max_demand_delay_s"]),
                      fmt_value(r["max_utilization"]), meets, r["upgrade_status"], fmt_value(r["upgrade_cost"]),
                      _modules_text(r["modules_added"], "\n"), fmt_value(r["upgraded_average_delay_s"]))
    stdout.print(table)
    notes: dict[tuple[str, str], list[str]] = {}  # one line per reason, listing its demand scales
    for r in result.records:
        failed = ", ".join(r["failed_links"] + r["failed_nodes"])
        where = f"fail {failed}" if failed else "intact"
        if r["reason"]:
            name = f"{result.network_name}: "  # the scenario networks keep the instance's name
            text = r["reason"][len(name):] if r["reason"].startswith(name) else r["reason"]
            text = text if text.startswith(r["status"]) else f"{r['status']}: {text}"
            notes.setdefault((where, text), []).append(f"x{r['demand_scale']:g}")
        if r["upgrade_status"] in ("infeasible", "time_limit") and r["upgrade_reason"]:
            notes.setdefault((where, f"upgrade {r['upgrade_status']}: {r['upgrade_reason']}"), []).append(
                f"x{r['demand_scale']:g}")
    for (where, text), scales in notes.items():
        stdout.print(f"{where} (demand {', '.join(scales)}): {text}")


@click.command()
@click.argument("instance", type=click.Path(dir_okay=False))
@card_options("modular-capacity",
              "modular-capacity card: T_max, utilisation limit, MIP gap, time limit.",
              "constraints.max_delay_s=0.02")
@click.option("--demand-scale", "demand_scale", default="1.0", show_default=True, metavar="START:STOP:STEP",
              help="Demand growth factors (both ends included), or one factor.")
@click.option("--fail", "failures", multiple=True, metavar="each-link|each-node|each-link-pair|ID[+ID]",
              help="Failure scenarios, in addition to the intact network: every single link or node, every "
                   "two links, or link ids (A+B: both fail); repeatable or comma-separated.")
@click.option("--no-upgrades", is_flag=True, help="Skip the upgrade MILP: installed network only (fast).")
@click.option("--time-limit", type=float, default=None,
              help="Seconds per scenario for each solve (default: the card's solver.time_limit_s).")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write one row per scenario to this .csv or .json file.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write the delay/upgrade-cost plot (PNG/PDF/SVG, needs matplotlib).")
@click.option("--progress/--quiet", default=None,
              help="One line per finished scenario on stderr (default: when stderr is a terminal).")
@attack_options
def whatif(instance: str, model: str, overrides: tuple[str, ...], demand_scale: str, failures: tuple[str, ...],
           no_upgrades: bool, time_limit: float | None, fmt: str, out: str | None, plot: str | None,
           progress: bool | None, attack: str | None, attack_card: str) -> None:
    """What-if sweep of INSTANCE over demand growth and failures.

    For every scenario (the intact network and each failure scenario, each at every demand
    scale): average and worst demand delay and max utilisation under min-delay routing, and
    the cheapest modules to add so that the average delay stays at most T_max (the card's
    constraints.max_delay_s; "installed" = the delay of the unscaled, intact installed network).
    A scenario that disconnects a demand or saturates a cut is reported as infeasible.
    With --attack: the DDoS what-if (M/M/1/B queues with detection) instead.
    """
    if attack:
        if failures or plot or demand_scale != "1.0" or no_upgrades:
            raise InvalidInputError("--attack runs the DDoS what-if alone: drop --fail, --demand-scale, "
                                    "--plot, --no-upgrades")
        return run_attack(instance, attack, attack_card, overrides, fmt, out)
    from topo_opt.errors import SolveInterrupted
    from topo_opt.model.scenarios import parse_range, scenario_grid
    from topo_opt.solve.cards import load_card
    from topo_opt.batch.whatif import COLUMNS, WhatIfOptions, WhatIfResult, run_whatif

    checked_output(out, TABLE_SUFFIXES)
    checked_plot(plot)
    scales = parse_range(demand_scale, "--demand-scale")
    options = WhatIfOptions.from_card(load_card(model, overrides), time_limit_s=time_limit,
                                      upgrades=not no_upgrades)
    network = read_network(instance, fmt)
    scenarios = scenario_grid(network, scales, _failure_specs(failures))
    show = progress if progress is not None else sys.stderr.isatty()
    reported = []  # the records whose line is out

    def report(record: dict) -> None:
        reported.append(record)
        if show:
            click.echo(f"[{len(reported)}/{len(scenarios)}] {record['scenario']}: {record['status']}, "
                       f"upgrade {record['upgrade_status']} ({record['solve_time_s']:.2f} s)", err=True)

    try:
        result, interrupted = run_whatif(network, scenarios, options, progress=report), False
    except SolveInterrupted as stop:
        if not isinstance(stop.partial, WhatIfResult) or not stop.partial.records:
            raise
        result, interrupted = stop.partial, True
        for record in result.records[len(reported):]:  # Ctrl-C between a record and its line
            report(record)
    source = "installed" if options.max_delay_s == "installed" else "card"
    if out:
        from topo_opt.io.atomic import atomic_write_text

        text = _csv_text(result.records, COLUMNS) if Path(out).suffix.lower() == ".csv" else \
            _json_text(result, network, instance, source)
        atomic_write_text(out, text)
    if plot:
        from topo_opt.report.whatif_plot import plot_whatif

        plot_whatif(result.records, result.max_delay_s, plot, title=f"{network.name}: what-if",
                    cost_unit=COST_UNIT)
    stdout.print(f"T_max = {result.max_delay_s:.6g} s ("
                 + ("installed: the intact, unscaled network under min-delay routing" if source == "installed"
                    else f"constraints.max_delay_s of {model}") + ")")
    _print_table(result, network.rate_unit)
    say_written(out, plot)
    if interrupted:
        exit_interrupted(f"{len(result.records)} of {len(scenarios)} scenarios finished"
                         + (f", written to {out}" if out else ""))
