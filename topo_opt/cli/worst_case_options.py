"""``topo-opt evaluate --worst-case``: network-calculus bounds next to the average delays.

The options are added to ``evaluate`` by :func:`worst_case_options`; :func:`add_worst_case`
puts the per-demand bounds into the evaluation document (``worst_case`` section and one key per
method in every demand) and prints the side-by-side table.
"""
from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from topo_opt.cli.console import fmt_value, stdout

SHOWN_DEMANDS = 10


def worst_case_options(command):
    """``--worst-case``, ``--burst``, ``--max-packet``, ``--traffic-class``, ``--traffic``."""
    command = click.option("--traffic", "traffic_file", type=click.Path(dir_okay=False), default=None,
                           help="Traffic-class descriptor file (TOML or JSON: [classes.NAME] with burst, "
                                "rate, peak, demands = id patterns); see the README.")(command)
    command = click.option("--traffic-class", "traffic_class", multiple=True, metavar="SPEC",
                           help="Token bucket of a demand class: NAME:burst=B[,rate=R][,peak=P]"
                                "[,demands=PATTERN|PATTERN...] (bits or packets, rate unit; demands: "
                                "glob patterns on demand ids, default the demands whose class is NAME). "
                                "Repeatable.")(command)
    command = click.option("--max-packet", type=float, default=None,
                           help="Largest packet M (bits; packets for packet/s instances). "
                                "Default 12000 bit (1500 bytes), 1 packet.")(command)
    command = click.option("--burst", type=float, default=None,
                           help="Token-bucket burst β of demands without their own 'burst' (bits; "
                                "packets for packet/s). Default 10 max packets.")(command)
    return click.option("--worst-case", is_flag=True,
                        help="Add worst-case delay bounds (network calculus: TFA, PBOO/SFA, with "
                             "per-hop regulators) for token-bucket traffic.")(command)


def traffic_classes(worst_case: bool, specs: tuple[str, ...], path: str | None) -> list:
    """The classes of ``--traffic FILE`` then of every ``--traffic-class SPEC`` (read before the
    instance); they need ``--worst-case``."""
    from topo_opt.errors import InvalidInputError
    from topo_opt.io.traffic_classes import parse_traffic_class, read_traffic_classes

    if (specs or path) and not worst_case:
        raise InvalidInputError("--traffic-class and --traffic describe traffic for --worst-case; add it")
    return (read_traffic_classes(path) if path else []) + [parse_traffic_class(spec) for spec in specs]


def add_worst_case(network, design, doc: dict[str, Any], traffic, classes: list) -> dict[str, Any]:
    """Compute the bounds for ``traffic`` (every demand's shaper, from
    :func:`topo_opt.model.traffic.traffic_descriptors`), merge them into ``doc`` (returned) and
    print the table."""
    from topo_opt.evaluators.worst_case import worst_case_delays
    from topo_opt.io.solution_json import json_clean
    from topo_opt.model.traffic import class_members

    report = worst_case_delays(network, design, traffic)
    section = report.to_dict()
    unit = "bit" if network.rate_unit == "bit/s" else "packet"
    members = class_members(network, classes)
    doc["worst_case"] = json_clean({
        "max_packet": traffic.max_packet, "burst_unit": unit, "methods": section["methods"],
        "classes": [{"name": c.name, "burst": c.burst, "token_rate": c.token_rate, "peak_rate": c.peak_rate,
                     "demands": [d.id for d, owner in zip(network.demands, members) if owner is c]}
                    for c in classes]})
    for k, (demand, row) in enumerate(zip(doc["demands"], section["demands"])):
        demand.update({key: value for key, value in row.items() if key != "id"},
                      **json_clean({"burst": traffic.burst[k], "token_rate": traffic.token_rate[k],
                                    "peak_rate": traffic.peak_rate[k]}),
                      traffic_class=members[k].name if members[k] else None)
    _print(network, doc, traffic.max_packet, unit, bool(classes))
    return doc


def _print(network, doc: dict[str, Any], max_packet: float, unit: str, with_classes: bool) -> None:
    methods = doc["worst_case"]["methods"]
    table = Table(title=f"{network.name}: worst-case delay bounds (s), slowest {SHOWN_DEMANDS} demands",
                  caption="avg: M/M/1 mean (Kleinrock); TFA: total flow analysis; PBOO: separated flow "
                          "analysis, pay bursts only once; bound: min(TFA, PBOO); regulated: with "
                          f"per-hop interleaved regulators. Max packet {max_packet:g} {unit}.")
    columns = ("demand",) + ("class",) * with_classes + (f"burst ({unit})", "avg", "TFA", "PBOO", "bound", "regulated")
    for column in columns:
        table.add_column(column, justify="left" if column in ("demand", "class") else "right")
    rows = sorted(doc["demands"], key=lambda d: -(d.get("worst_case_delay_s") or float("inf")))
    for d in rows[:SHOWN_DEMANDS]:
        table.add_row(d["id"], *((d["traffic_class"] or "-",) if with_classes else ()), fmt_value(d["burst"]),
                      fmt_value(d["delay_s"]), fmt_value(d.get("tfa_delay_s")),
                      fmt_value(d.get("sfa_delay_s")), fmt_value(d.get("worst_case_delay_s")),
                      fmt_value(d.get("regulated_delay_s")))
    stdout.print(table)
    for name, label in (("tfa", "TFA"), ("sfa", "PBOO")):
        m = methods[name]
        state = (f"bounded, burst fixed point certified in {m['iterations']} iterations "
                 f"(b + M v <= v checked, residual {fmt_value(m['residual'])})") if m["bounded"] \
            else f"UNBOUNDED: {m['message']}"
        stdout.print(f"{label}: {state}")
