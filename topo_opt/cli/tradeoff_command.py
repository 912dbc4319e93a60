"""``topo-opt tradeoff``: sweep the delay bound T_max, min power by the MILP and by EARP."""
from __future__ import annotations

import json

import click
from rich.table import Table

from topo_opt.cli.console import (
    FORMAT_CHOICES, TABLE_SUFFIXES, card_options, checked_output, checked_plot, exit_interrupted, fmt_value,
    say_written, stdout,
)
from topo_opt.errors import InvalidInputError
from topo_opt.io.csv_table import csv_text
from topo_opt.solve.instance_loader import read_network

COLUMNS = ("max_delay_s", "milp_power_w", "milp_bound_w", "milp_gap", "milp_delay_s", "milp_time_s",
           "earp_power_w", "earp_delay_s", "earp_time_s", "earp_excess", "milp_status", "earp_status",
           "milp_design_max_delay_s", "earp_design_max_delay_s")


def _notes(records: list[dict]) -> list[str]:
    """One line per method and T_max whose row needs a word: no design (why), a design kept
    from a tighter T_max, or an interrupted MILP."""
    lines = []
    for r in records:
        for name, label in (("milp", "MILP"), ("earp", "EARP")):
            status, found_at = r.get(f"{name}_status"), r.get(f"{name}_design_max_delay_s")
            if status is None:
                continue
            where = f"T_max = {fmt_value(r['max_delay_s'])} s: {label}"
            if status not in ("optimal", "feasible"):
                lines.append(f"{where} {status}")
            if found_at is not None and found_at == found_at and found_at != r["max_delay_s"]:
                lines.append(f"{where}: the design of T_max = {fmt_value(found_at)} s has less power "
                             "and meets this bound too; it is reported")
    return lines


@click.command()
@click.argument("instance", type=click.Path(dir_okay=False))
@card_options("earp-min-power", "An earp-min-power card (profiles, α, gap).",
              "solver.gap=1e-3")
@click.option("--tmax-range", required=True,
              help="A:B:STEP values of T_max: seconds, or multiples of the min delay with --relative.")
@click.option("--relative", is_flag=True, help="T_max values are multiples of the minimum delay T*.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the table (.csv or .json).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write power against delay (PNG/PDF/SVG, needs matplotlib).")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True)
def tradeoff(instance: str, model: str, overrides: tuple[str, ...], tmax_range: str, relative: bool,
             out: str | None, plot: str | None, fmt: str) -> None:
    """Sweep T_max on INSTANCE: min power by the MILP (with bound) and by EARP, side by side."""
    from topo_opt.errors import SolveInterrupted
    from topo_opt.io.atomic import atomic_write_text
    from topo_opt.io.solution_json import json_clean
    from topo_opt.model.scenarios import parse_range
    from topo_opt.solve.cards import load_card, node_power_profiles
    from topo_opt.batch.tradeoff import power_delay_tradeoff
    from topo_opt.solve.min_power import min_delay_all_on

    checked_output(out, TABLE_SUFFIXES)
    checked_plot(plot)
    card = load_card(model, overrides)
    if card.problem != "earp-min-power":
        raise InvalidInputError(f"{model}: tradeoff needs an earp-min-power card, got {card.problem!r}")
    values = parse_range(tmax_range, "--tmax-range")
    network = read_network(instance, fmt)
    include = card.get("objective.include_fixed_delay")
    t_star = min_delay_all_on(network, include)
    t_max = [v * t_star for v in values] if relative else values
    try:
        records, interrupted = power_delay_tradeoff(
            network, node_power_profiles(network, card), t_max, max_utilization=card.get("constraints.max_utilization"),
            include_fixed_delay=include, gap=card.get("solver.gap"), time_limit_s=card.get("solver.time_limit_s"),
            n_candidates=card.get("candidates.k_shortest")), False
    except SolveInterrupted as stop:
        if not isinstance(stop.partial, list) or not stop.partial:
            raise
        records, interrupted = stop.partial, True
    if plot:
        from topo_opt.report.tradeoff_plot import plot_tradeoff

        plot_tradeoff(records, plot, f"{network.name}: power against delay")
    if out:
        if out.lower().endswith(".csv"):
            text = csv_text(records, COLUMNS)
        else:
            text = json.dumps(json_clean({"format": "topo-opt/tradeoff", "version": 1,
                                          "instance": network.name, "min_delay_s": t_star,
                                          "model": card.to_dict(), "records": records}), indent=1) + "\n"
        atomic_write_text(out, text)
    table = Table(title=f"{network.name}: power against delay (T* = {fmt_value(t_star, 's')})")
    for column in ("T_max (s)", "MILP power (W)", "bound (W)", "gap", "MILP T (s)",
                   "EARP power (W)", "EARP T (s)", "EARP excess"):
        table.add_column(column, justify="right")
    for r in records:
        table.add_row(*(fmt_value(r.get(key)) for key in ("max_delay_s", "milp_power_w", "milp_bound_w",
                                                       "milp_gap", "milp_delay_s", "earp_power_w",
                                                       "earp_delay_s", "earp_excess")))
    stdout.print(table)
    for line in _notes(records):
        stdout.print(line)
    say_written(out, plot)
    if interrupted:
        exit_interrupted(f"{len(records)} of {len(t_max)} T_max values finished"
                         + (f", written to {out}" if out else ""))
