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
    """``--worst-case``, ``--burst``, ``--max-packet``."""
    command = click.option("--max-packet", type=float, default=None,
                           help="Largest packet M (bits; packets for packet/s instances). "
                                "Default 12000 bit (1500 bytes), 1 packet.")(command)
    command = click.option("--burst", type=float, default=None,
                           help="Token-bucket burst β of demands without their own 'burst' (bits; "
                                "packets for packet/s). Default 10 max packets.")(command)
    return click.option("--worst-case", is_flag=True,
                        help="Add worst-case delay bounds (network calculus: TFA, PBOO/SFA, with "
                             "per-hop regulators) for token-bucket traffic.")(command)


def add_worst_case(network, design, doc: dict[str, Any], burst: float | None,
                   max_packet: float | None) -> dict[str, Any]:
    """Compute the bounds, merge them into ``doc`` (returned) and print the table."""
    from topo_opt.evaluators.worst_case import worst_case_delays
    from topo_opt.io.solution_json import json_clean
    from topo_opt.model.traffic import traffic_descriptors

    traffic = traffic_descriptors(network, burst=burst, max_packet=max_packet)
    report = worst_case_delays(network, design, traffic)
    section = report.to_dict()
    unit = "bit" if network.rate_unit == "bit/s" else "packet"
    doc["worst_case"] = json_clean({"max_packet": traffic.max_packet, "burst_unit": unit,
                                    "methods": section["methods"]})
    for demand, row, burst_k in zip(doc["demands"], section["demands"], traffic.burst.tolist()):
        demand.update({key: value for key, value in row.items() if key != "id"}, burst=burst_k)
    _print(network, doc, traffic.max_packet, unit)
    return doc


def _print(network, doc: dict[str, Any], max_packet: float, unit: str) -> None:
    methods = doc["worst_case"]["methods"]
    table = Table(title=f"{network.name}: worst-case delay bounds (s), slowest {SHOWN_DEMANDS} demands",
                  caption="avg: M/M/1 mean (Kleinrock); TFA: total flow analysis; PBOO: separated flow "
                          "analysis, pay bursts only once; bound: min(TFA, PBOO); regulated: with "
                          f"per-hop interleaved regulators. Max packet {max_packet:g} {unit}.")
    for column in ("demand", f"burst ({unit})", "avg", "TFA", "PBOO", "bound", "regulated"):
        table.add_column(column, justify="left" if column == "demand" else "right")
    rows = sorted(doc["demands"], key=lambda d: -(d.get("worst_case_delay_s") or float("inf")))
    for d in rows[:SHOWN_DEMANDS]:
        table.add_row(d["id"], fmt_value(d["burst"]), fmt_value(d["delay_s"]), fmt_value(d.get("tfa_delay_s")),
                      fmt_value(d.get("sfa_delay_s")), fmt_value(d.get("worst_case_delay_s")),
                      fmt_value(d.get("regulated_delay_s")))
    stdout.print(table)
    for name, label in (("tfa", "TFA"), ("sfa", "PBOO")):
        m = methods[name]
        state = (f"bounded, burst fixed point certified in {m['iterations']} iterations "
                 f"(b + M v <= v checked, residual {fmt_value(m['residual'])})") if m["bounded"] \
            else f"UNBOUNDED: {m['message']}"
        stdout.print(f"{label}: {state}")
