"""``topo-opt whatif --attack SPEC``: the DDoS what-if (M/M/1/B with detection), printed."""
from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from topo_opt.cli.console import fmt_value, stdout

SHOWN_DEMANDS = 15
DEMAND_COLUMNS = ("demand", "source", "target", "rate", "loss_baseline", "loss", "delay_baseline_s", "delay_s")


def attack_options(command):
    """``--attack SPEC`` and ``--attack-card CARD``."""
    command = click.option("--attack-card", default="models/attack/ddos.toml", show_default=True,
                           type=click.Path(dir_okay=False),
                           help="DDoS card: detection probabilities f, d (per node), buffer, routing; "
                                "--set overrides apply to it with --attack.")(command)
    return click.option("--attack", "attack", default=None, metavar="SRC[,SRC]>TARGET@RATE",
                        help="DDoS what-if instead of the growth/failure sweep: attack sources, target "
                             "and rate per source (rate unit); ';' joins several.")(command)


def run_attack(instance: str, spec: str, card_path: str, overrides: tuple[str, ...], fmt: str,
               out: str | None) -> None:
    """Read, run, print and (optionally) write the attack what-if."""
    from topo_opt.cli.console import TABLE_SUFFIXES, checked_output
    from topo_opt.solve.instance_loader import read_network
    from topo_opt.io.atomic import atomic_write_text
    from topo_opt.io.attack_card import load_attack_card
    from topo_opt.io.csv_table import csv_text
    from topo_opt.io.solution_json import json_clean
    from topo_opt.model.attack import parse_attack
    from topo_opt.batch.attack_whatif import run_attack_whatif

    checked_output(out, TABLE_SUFFIXES)
    network = read_network(instance, fmt)
    flows = parse_attack(spec, network)
    card = load_attack_card(card_path, network, overrides)
    result = run_attack_whatif(network, flows, card)
    _print(result)
    if out:
        if Path(out).suffix.lower() == ".csv":
            text = csv_text((json_clean(row) for row in result.demands), DEMAND_COLUMNS)
        else:
            a = result.attacked
            doc = {"format": "topo-opt/attack-whatif", "version": 1,
                   "instance": {"name": network.name, "file": instance},
                   "units": {"rate": network.rate_unit, "delay": "s"}, "attack": spec, "card": card.source,
                   "buffer_packets": card.buffer_packets, "routing": card.routing_rule,
                   "fixed_point": {"iterations": a.iterations, "bracket": a.bracket, "residual": a.residual,
                                   "converged": a.converged},
                   "legit_loss_baseline": result.legit_loss[0], "legit_loss": result.legit_loss[1],
                   "demands": result.demands, "attacks": result.attacks, "protect_nodes": result.nodes,
                   "protect_links": result.links}
            text = json.dumps(json_clean(doc), indent=1) + "\n"
        atomic_write_text(out, text)
        stdout.print(f"written to {out}")


def _print(result) -> None:
    net, a, unit = result.network, result.attacked, result.network.rate_unit
    before, after = result.legit_loss
    stdout.print(f"{net.name}: attack {', '.join(f'{f.source}>{f.target}@{f.rate:g}' for f in result.flows)} "
                 f"({unit}); M/M/1/B buffer {result.card.buffer_packets} packets, {result.card.routing_rule} routing")
    stdout.print(f"fixed point: {'converged' if a.converged else 'NOT converged'} in {a.iterations} iterations, "
                 f"bracket {a.bracket:.3g}, residual {a.residual:.3g}")
    stdout.print(f"legitimate traffic lost: {before:.4g} without the attack, {after:.4g} with it")
    table = Table(title=f"legitimate demands, most affected first (of {net.n_demands})")
    for col in ("demand", f"rate ({unit})", "loss before", "loss", "delay before (s)", "delay (s)"):
        table.add_column(col, justify="left" if col == "demand" else "right")
    rows = sorted(result.demands, key=lambda d: -d["loss"])
    for d in rows[:SHOWN_DEMANDS]:
        table.add_row(d["demand"], fmt_value(d["rate"]), fmt_value(d["loss_baseline"]), fmt_value(d["loss"]),
                      fmt_value(d["delay_baseline_s"]), fmt_value(d["delay_s"]))
    stdout.print(table)
    attacks = Table(title="attack traffic reaching its target")
    for col in ("attack", f"rate ({unit})", "delivered"):
        attacks.add_column(col, justify="left" if col == "attack" else "right")
    for row in result.attacks:
        attacks.add_row(row["attack"], fmt_value(row["rate"]), fmt_value(row["delivered"]))
    stdout.print(attacks)
    nodes = Table(title=f"where detection helps most (d + {result.card.detection_step:g} at one node)")
    for col in ("node", "d", f"legit saved ({unit})"):
        nodes.add_column(col, justify="left" if col == "node" else "right")
    for row in result.nodes:
        nodes.add_row(row["node"], fmt_value(row["detection"]), fmt_value(row["legit_saved"]))
    stdout.print(nodes)
    links = Table(title="links dropping legitimate traffic")
    for col in ("link", "from", "blocking", "utilization", "attack share", f"legit dropped ({unit})"):
        links.add_column(col, justify="left" if col in ("link", "from") else "right")
    for row in result.links:
        links.add_row(row["link"], row["from"], fmt_value(row["blocking"]), fmt_value(row["utilization"]),
                      fmt_value(row["attack_share"]), fmt_value(row["legit_dropped"]))
    stdout.print(links)
