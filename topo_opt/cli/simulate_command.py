"""``topo-opt simulate``: packet-level simulation of a design next to the queueing model."""
from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from topo_opt.cli.console import FORMAT_CHOICES, fmt_value, say_written, stdout
from topo_opt.errors import InvalidInputError, SolverUnavailableError
from topo_opt.solve.instance_loader import read_network

EXIT_INTERRUPTED = 130
PLOT_SUFFIXES = (".png", ".pdf", ".svg")


def _count(value: float | None, option: str) -> int | None:
    """An integer given as int or float text (``1e6``)."""
    if value is None:
        return None
    if not math.isfinite(value) or value != int(value):
        raise InvalidInputError(f"{option} must be a whole number, got {value:g}")
    return int(value)


def _check_output(path: str | None, option: str, suffixes: tuple[str, ...]) -> None:
    if path is None:
        return
    target = Path(path)
    if target.suffix.lower() not in suffixes:
        raise InvalidInputError(f"{option} {path}: expected a {'/'.join(suffixes)} file")
    if not target.parent.resolve().is_dir():
        raise InvalidInputError(f"{option} {path}: directory {target.parent} does not exist")


def _pm(mean, half) -> str:
    if mean is None or not math.isfinite(mean):
        return "n/a"
    return f"{mean:.6g} ± {half:.2g}" if half is not None and math.isfinite(half) else f"{mean:.6g}"


def _pct(value) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:+.2f} %"


def _print_tables(doc: dict, instance_name: str, top: int) -> None:
    net, o = doc["network"], doc["options"]
    budget = f"{o['packets']} packets" if o["packets"] is not None else f"{o['duration_s']:g} s"
    summary = Table(title=f"{instance_name}: simulation ({o['lengths']} lengths, {budget} x "
                          f"{net['replications']} replications)", show_header=False)
    buffer = "infinite" if o["buffer"] is None and not o["link_buffers"] else \
        f"{fmt_value(o['buffer'])} {o['buffer_unit']}" + (" + per link" if o["link_buffers"] else "")
    rows = [("packets measured", f"{net['packets_measured']}"), ("buffers", buffer),
            ("mean delay, simulated (s)", _pm(net["mean_delay_s"], net["ci_half_width_s"])),
            ("confidence interval", f"{100 * o['level']:g} % over {net['ci_method']}"),
            ("Kleinrock T (s)", fmt_value(net["kleinrock_delay_s"])),
            ("Kleinrock error", _pct(net["kleinrock_relative_error"]))]
    if net["model"] != "mm1":
        rows += [(f"{net['model']} model T (s)", fmt_value(net["model_delay_s"])),
                 (f"{net['model']} error", _pct(net["model_relative_error"]))]
    rows += [("model within CI", "yes" if net["model_within_ci"] else "no"),
             ("time in queues per packet (s)", _pm(net["queueing_delay_s"], net["queueing_ci_half_width_s"])),
             (f"{net['model']} time in queues (s)", fmt_value(net["model_queueing_delay_s"])),
             (f"{net['model']} error on it", _pct(net["model_queueing_relative_error"])),
             ("loss", fmt_value(net["loss"])),
             ("packet-hops per CPU second", f"{net['packet_hops_per_s']:.3g} ({net['packet_hops']} in "
                                           f"{net['engine_cpu_s']:.2f} s of event loop)")]
    if net["interrupted"]:
        rows.append(("interrupted", f"after {net['replications']} replication(s)"))
    for key, value in rows:
        summary.add_row(key, value)
    stdout.print(summary)

    arcs = sorted(doc["arcs"], key=lambda a: -(a["utilization"] or 0))[:top]
    table = Table(title=f"arcs, busiest {len(arcs)} of {len(doc['arcs'])} (time in queue: waiting + transmission)",
                  caption="error = (model − simulated)/simulated; ± the confidence interval's half-width")
    for col in ("link", "from", "to", "utilization", "simulated (s)", f"{net['model']} (s)", "error", "loss"):
        table.add_column(col, justify="left" if col in ("link", "from", "to") else "right")
    for a in arcs:
        table.add_row(str(a["link"]), str(a["from"]), str(a["to"]), fmt_value(a["utilization"]),
                      _pm(a["queue_delay_s"], a["ci_half_width_s"]), fmt_value(a["model_queue_delay_s"]),
                      _pct(a["model_relative_error"]), fmt_value(a["loss"]))
    stdout.print(table)

    demands = sorted(doc["demands"], key=lambda d: -d["rate"])[:top]
    table = Table(title=f"demands, largest {len(demands)} of {len(doc['demands'])} (end-to-end delay, s)")
    for col in ("demand", "packets", "loss", "mean", "model", "p50", "p95", "p99"):
        table.add_column(col, justify="left" if col == "demand" else "right")
    for d in demands:
        table.add_row(str(d["id"]), str(d["packets"]), fmt_value(d["loss"]),
                      _pm(d["mean_delay_s"], d["ci_half_width_s"]), fmt_value(d["model_delay_s"]),
                      fmt_value(d["p50_delay_s"]), fmt_value(d["p95_delay_s"]), fmt_value(d["p99_delay_s"]))
    stdout.print(table)


def solve_simulation(network, design, packets: int) -> tuple[dict, str]:
    """``solve --simulate N``: simulate the solved design with N packets (redrawn lengths, 5
    replications, seed 0) and return the ``simulation`` block of the solution and a line for
    the console.  A design the simulator refuses (saturated) gets ``{"error": ...}``."""
    from topo_opt.errors import TopoOptError
    from topo_opt.io.solution_json import json_clean
    from topo_opt.simulation import SimulationOptions, simulate as run

    replications = 5
    try:
        result = run(network, design, SimulationOptions(packets=max(packets // replications, 1),
                                                        replications=replications))
    except TopoOptError as exc:
        return {"error": str(exc)}, f"simulation refused: {exc}"
    block = json_clean(result.to_dict()["network"])
    return block, (f"simulation ({block['packets_measured']} packets): mean delay "
                   f"{_pm(block['mean_delay_s'], block['ci_half_width_s'])} s; Kleinrock T "
                   f"{fmt_value(block['kleinrock_delay_s'])} s, error {_pct(block['kleinrock_relative_error'])}")


@click.command()
@click.argument("instance", type=click.Path(dir_okay=False))
@click.argument("solution", type=click.Path(dir_okay=False))
@click.option("--packets", type=float, default=None,
              help="Budget per replication in packets, the --warmup fraction of it not measured "
                   "[default: 200000].")
@click.option("--duration", type=float, default=None, help="Budget per replication in simulated seconds.")
@click.option("--lengths", default="redrawn", show_default=True,
              metavar="redrawn|kept|fixed|empirical:SIZES:WEIGHTS",
              help="Packet lengths: exponential redrawn at every hop (Kleinrock's assumption), exponential "
                   "kept across hops, fixed, or sizes in bytes with weights, e.g. empirical:64,1500:0.6,0.4.")
@click.option("--buffer", default=None, metavar="N[pkts|bytes]",
              help="Drop-tail buffer of every queue, packets (the one in transmission included) or bytes "
                   "[default: infinite].")
@click.option("--link-buffer", "link_buffers", multiple=True, metavar="LINK=N[pkts|bytes]",
              help="Buffer of one link's queues (overrides --buffer); repeatable.")
@click.option("--replications", type=int, default=5, show_default=True,
              help="Independent replications; 1 = one run with batch-means intervals.")
@click.option("--warmup", type=float, default=0.1, show_default=True,
              help="Fraction of each replication's budget left out of the statistics; lengthened to twice "
                   "the longest path's processing + propagation delay when that is longer.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--top", type=int, default=10, show_default=True,
              help="Arcs and demands shown in the tables and demands in the plot.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the simulation JSON here.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Delay distributions and model vs simulation per arc (PNG/PDF/SVG, needs matplotlib).")
@click.option("--progress/--quiet", default=None, help="Progress bar on stderr (default: when it is a terminal).")
def simulate(instance: str, solution: str, packets: float | None, duration: float | None, lengths: str,
             buffer: str | None, link_buffers: tuple[str, ...], replications: int, warmup: float, seed: int,
             top: int, fmt: str, out: str | None, plot: str | None, progress: bool | None) -> None:
    """Simulate the design in SOLUTION on INSTANCE packet by packet and compare it with the model.

    Poisson arrivals per demand, each packet on one of its demand's paths (by the solution's
    fractions), a FIFO queue per arc (one per link for undirected links), processing and
    propagation delays.  Prints the simulated mean delays with confidence intervals next to
    Kleinrock's M/M/1 prediction (and M/G/1 for non-exponential lengths, M/M/1/K for finite
    buffers), per-demand percentiles and loss.  A link with utilisation >= 1 and an infinite
    buffer is refused.  Ctrl-C stops after the finished replications (exit code 130).
    """
    from topo_opt.io.atomic import atomic_write_text
    from topo_opt.io.solution_json import json_clean, read_design
    from topo_opt.simulation import Buffers, PacketLengths, SimulationOptions, simulate as run
    from topo_opt.evaluators.design_check import check_design

    _check_output(out, "--out", (".json",))
    _check_output(plot, "--plot", PLOT_SUFFIXES)
    if plot and importlib.util.find_spec("matplotlib") is None:
        raise SolverUnavailableError("--plot needs matplotlib: pip install 'topo-opt[plot]'")
    if top < 1:
        raise InvalidInputError(f"--top must be >= 1, got {top}")
    per_link = {}
    for entry in link_buffers:
        link, sep, size = entry.partition("=")
        if not sep or not link:
            raise InvalidInputError(f"--link-buffer {entry!r}: expected LINK=N[pkts|bytes]")
        per_link[link] = size
    options = SimulationOptions(packets=_count(packets, "--packets"), duration_s=duration,
                                lengths=PacketLengths.parse(lengths), buffers=Buffers.parse(buffer, per_link),
                                replications=replications, warmup=warmup, seed=seed).checked()
    network = read_network(instance, fmt)
    design = read_design(solution, network)
    # routing and on/off only: the simulator itself refuses overloaded queues with infinite buffers
    # and simulates them with finite ones
    problems = check_design(network, design, capacity=False)
    if problems:
        raise InvalidInputError(f"{solution}: invalid design: {problems[0]}")

    show = progress if progress is not None else sys.stderr.isatty()
    try:
        result = _run_with_progress(run, network, design, options, show)
    except KeyboardInterrupt:
        click.echo("topo-opt: interrupted before the first replication finished", err=True)
        sys.exit(EXIT_INTERRUPTED)
    doc = json_clean({"format": "topo-opt/simulation", "version": 1,
                      "instance": {"name": network.name, "file": instance}, "solution": solution,
                      "units": {"rate": network.rate_unit, "delay": "s", "length": "bit"},
                      **result.to_dict()})
    if out:
        atomic_write_text(out, json.dumps(doc, indent=1) + "\n")
    if plot:
        from topo_opt.report.simulation import plot_simulation

        plot_simulation(result, plot, top=top)
    _print_tables(doc, network.name, top)
    say_written(out, plot)
    if result.interrupted:
        click.echo(f"topo-opt: interrupted; kept {result.replications_done} finished replication(s)", err=True)
        sys.exit(EXIT_INTERRUPTED)


def _run_with_progress(run, network, design, options, show: bool):
    if not show:
        return run(network, design, options)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
                  transient=True) as bar:
        task = bar.add_task("simulate", total=options.replications)
        return run(network, design, options, progress=lambda r, f: bar.update(task, completed=r + f))
