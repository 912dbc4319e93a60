"""``topo-opt tradeoff``: sweep the delay bound T_max, min power by the MILP and by EARP."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import click
from rich.table import Table

from topo_opt.cli.console import FORMAT_CHOICES, fmt_value, read_network, stdout
from topo_opt.errors import InvalidInputError, SolverUnavailableError
from topo_opt.io.atomic import atomic_write
from topo_opt.model.scenarios import parse_range

COLUMNS = ("max_delay_s", "milp_power_w", "milp_bound_w", "milp_gap", "milp_delay_s", "milp_time_s",
           "earp_power_w", "earp_delay_s", "earp_time_s", "earp_excess", "milp_status", "earp_status")


def plot_tradeoff(records: list[dict], path: str, title: str) -> None:
    """Power (W) against achieved average delay (s): MILP points with their bounds, EARP points."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise SolverUnavailableError("--plot needs matplotlib: pip install 'topo-opt[plot]'") from exc
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, style in (("milp", "o-"), ("earp", "s--")):
        ax.plot([r[f"{name}_delay_s"] * 1e3 for r in records], [r[f"{name}_power_w"] for r in records],
                style, label={"milp": "MILP (HiGHS)", "earp": "EARP heuristic"}[name])
    ax.plot([r["max_delay_s"] * 1e3 for r in records], [r["milp_bound_w"] for r in records], "k:",
            lw=1, label="MILP lower bound at T_max")
    ax.set_xlabel("average delay T (ms)")
    ax.set_ylabel("total power (W)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120))
    finally:
        plt.close(fig)


@click.command()
@click.argument("instance", type=click.Path(dir_okay=False))
@click.option("--model", "model_path", default="models/earp-min-power.toml", show_default=True,
              type=click.Path(dir_okay=False), help="An earp-min-power card (profiles, α, gap).")
@click.option("--set", "overrides", multiple=True, help="Override a card key, e.g. solver.gap=1e-3.")
@click.option("--tmax-range", required=True,
              help="A:B:STEP values of T_max: seconds, or multiples of the min delay with --relative.")
@click.option("--relative", is_flag=True, help="T_max values are multiples of the minimum delay T*.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the table (.csv or .json).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write power against delay (PNG/PDF/SVG, needs matplotlib).")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True)
def tradeoff(instance: str, model_path: str, overrides: tuple[str, ...], tmax_range: str, relative: bool,
             out: str | None, plot: str | None, fmt: str) -> None:
    """Sweep T_max on INSTANCE: min power by the MILP (with bound) and by EARP, side by side."""
    from topo_opt.io.atomic import atomic_write_text
    from topo_opt.io.solution_json import json_clean
    from topo_opt.solve.cards import load_card
    from topo_opt.solve.min_power import card_profiles, min_delay_all_on, power_delay_tradeoff

    card = load_card(model_path, overrides)
    if card.problem != "earp-min-power":
        raise InvalidInputError(f"{model_path}: tradeoff needs an earp-min-power card, got {card.problem!r}")
    if out and Path(out).suffix.lower() not in (".csv", ".json"):
        raise InvalidInputError(f"--out {out}: the file name must end in .csv or .json")
    values = parse_range(tmax_range, "--tmax-range")
    network = read_network(instance, fmt)
    include = card.get("delay.include_fixed_delay")
    t_star = min_delay_all_on(network, include)
    t_max = [v * t_star for v in values] if relative else values
    records = power_delay_tradeoff(
        network, card_profiles(network, card), t_max, max_utilization=card.get("network.max_utilization"),
        include_fixed_delay=include, gap=card.get("solver.gap"), time_limit_s=card.get("solver.time_limit_s"),
        n_candidates=card.get("solver.n_candidates"))
    if plot:
        plot_tradeoff(records, plot, f"{network.name}: power against delay")
    if out:
        if out.lower().endswith(".csv"):
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows({key: r.get(key) for key in COLUMNS} for r in records)
            text = buffer.getvalue()
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
        table.add_row(*(fmt_value(r[key]) for key in ("max_delay_s", "milp_power_w", "milp_bound_w",
                                                       "milp_gap", "milp_delay_s", "earp_power_w",
                                                       "earp_delay_s", "earp_excess")))
    stdout.print(table)
    for path in (out, plot):
        if path:
            stdout.print(f"written {path}")
