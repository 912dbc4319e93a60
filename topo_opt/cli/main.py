"""The ``topo-opt`` command: info, convert, solve, evaluate.

Only this layer prints.  Every :class:`~topo_opt.errors.TopoOptError` becomes one line on stderr
and exit code 2, with no traceback and no partial output file.  Ctrl-C exits with code 130;
a command that has finished work (the best design so far, finished rows) writes it first.
"""
from __future__ import annotations

import logging
import math
import sys
from typing import Any

import click
from rich.table import Table

from topo_opt.cli.console import (
    EXIT_INPUT, EXIT_INTERRUPTED, FORMAT_CHOICES, card_options, checked_output, exit_interrupted,
    fmt_value as _fmt, stdout,
)
from topo_opt.cli.worst_case_options import add_worst_case, traffic_classes, worst_case_options
from topo_opt.errors import InfeasibleError, TopoOptError
from topo_opt.solve.instance_loader import read_network as _read


def _usage_error(exc: click.UsageError) -> None:
    """A click usage error (bad option, argument or choice) as one line, like every other error."""
    command = exc.ctx.command_path if exc.ctx is not None else "topo-opt"
    click.echo(f"topo-opt: error: {exc.format_message()} (see '{command} --help')", err=True)
    sys.exit(EXIT_INPUT)


# Commands in their own modules, imported when named (or listed by --help): ~30 ms of start-up
# that `solve` and `evaluate` do not pay.
_LAZY_COMMANDS = {name: f"topo_opt.cli.{name}_command" for name in
                  ("batch", "report", "bench", "tradeoff", "whatif", "models", "simulate", "measure")}


class _Group(click.Group):
    """Maps topo-opt errors and click usage errors to one stderr line and exit code 2, Ctrl-C to
    exit code 130; loads the commands of ``_LAZY_COMMANDS`` on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in _LAZY_COMMANDS and name not in self.commands:
            import importlib

            self.add_command(getattr(importlib.import_module(_LAZY_COMMANDS[name]), name))
        return super().get_command(ctx, name)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            _usage_error(exc)
        except KeyboardInterrupt:
            click.echo("topo-opt: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except InfeasibleError as exc:
            text = str(exc) if "infeasible" in str(exc) else f"infeasible: {exc}"
            click.echo(f"topo-opt: {text}", err=True)
            sys.exit(EXIT_INPUT)
        except TopoOptError as exc:
            click.echo(f"topo-opt: error: {exc}", err=True)
            sys.exit(EXIT_INPUT)
        except OSError as exc:
            click.echo(f"topo-opt: error: {exc.filename or ''}: {exc.strerror or exc}", err=True)
            sys.exit(EXIT_INPUT)


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``."""
    if value and not ctx.resilient_parsing:
        from topo_opt import __version__

        click.echo(f"topo-opt, version {__version__}")
        ctx.exit()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the version and exit.")
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug) to stderr.")
def cli(verbose: int) -> None:
    """Packet-network design: routes and capacities minimising the Kleinrock average delay.

    Rates are in bit/s (packet/s for CommaLab files), delays in seconds, power in watts.
    """
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")


# ------------------------------------------------------------------------------------ info
@cli.command()
@click.argument("instance", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True)
def info(instance: str, fmt: str) -> None:
    """Sizes, units, total demand and a capacity feasibility hint of INSTANCE."""
    from topo_opt.model.summary import summarize

    network = _read(instance, fmt)
    summary = summarize(network)
    table = Table(title=f"{network.name} ({instance})", show_header=False)
    for key, value in summary.items():
        table.add_row(key, _fmt(value))
    stdout.print(table)


# ------------------------------------------------------------------------------------ convert
GABRIEL = "gabriel:"


def _gabriel_size(instance: str) -> int:
    """N of ``gabriel:N`` (a generated Gabriel graph of N nodes); a one-line error otherwise."""
    size = instance[len(GABRIEL):]
    if not (size.isdigit() and int(size) >= 3):
        from topo_opt.errors import InvalidInputError
        raise InvalidInputError(f"{instance}: a generated graph is gabriel:N with N >= 3 nodes")
    return int(size)


@cli.command()
@click.argument("instance", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True)
@click.option("--to", "target", type=click.Choice(("json", "sndlib")), default="json", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Output file.")
@click.option("--gravity", type=float, default=None,
              help="Replace demands by a gravity model with this total rate (rate unit).")
@click.option("--gravity-endpoints", "endpoints", type=click.IntRange(min=2), default=None, metavar="K",
              help="With --gravity: traffic only among K nodes drawn at random (seeded), the rest "
                   "forward it; K(K-1) demands instead of all pairs (for large graphs).")
@click.option("--uniform", type=float, default=None,
              help="Replace demands by this rate between every ordered node pair.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the demand generator.")
@click.option("--lengths-from-coordinates", is_flag=True,
              help="Set link lengths to great-circle distances between node coordinates.")
@click.option("--size-capacities", type=float, default=None, metavar="UTILIZATION",
              help="Size every link to standard line rates so min-hop loads stay below UTILIZATION.")
def convert(instance: str, fmt: str, target: str, out: str, gravity: float | None,
            endpoints: int | None, uniform: float | None, seed: int, lengths_from_coordinates: bool,
            size_capacities: float | None) -> None:
    """Convert INSTANCE to the native JSON or SNDlib native format, optionally adding demands,
    lengths or capacities (each rule is recorded in the instance's metadata).  INSTANCE
    gabriel:N generates a planar Gabriel graph of N random points (--seed)."""
    from topo_opt.algorithms.baselines import min_hop_sized
    from topo_opt.io.detect import write_instance
    from topo_opt.model import synthesis

    checked_output(out, (".json",) if target == "json" else None)
    if endpoints is not None and gravity is None:
        from topo_opt.errors import InvalidInputError
        raise InvalidInputError("--gravity-endpoints needs --gravity (the total rate)")
    if instance.startswith(GABRIEL):
        network = synthesis.gabriel_network(_gabriel_size(instance), seed=seed)
    elif size_capacities is None:
        network = _read(instance, fmt)
    else:  # every capacity is replaced: links without one (Zoo, REPETITA) get a placeholder while
        # reading, so the command the missing-capacity error recommends works
        from topo_opt.io.detect import read_instance

        network = read_instance(instance, format=fmt, missing_capacity_bps=synthesis.STANDARD_LINE_RATES[0])
    if gravity is not None:
        network = synthesis.gravity_demands(network, gravity, seed=seed, endpoints=endpoints)
    if uniform is not None:
        network = synthesis.uniform_demands(network, uniform)
    if lengths_from_coordinates:
        network = synthesis.with_lengths_from_coordinates(network)
    if size_capacities is not None:
        network = min_hop_sized(network, size_capacities)
    write_instance(network, out, format=target)
    stdout.print(f"wrote {out} ({target}): {network.n_nodes} nodes, {network.n_links} links, "
                 f"{network.n_demands} demands")


# ------------------------------------------------------------------------------------ solve
def _progress_printer(enabled: bool):
    if not enabled:
        return None

    def show(record: dict) -> None:
        click.echo(f"iter {int(record.get('iteration', 0)):>6}  t={record.get('time_s', 0):8.2f}s  "
                   f"obj={_fmt(record.get('objective'))}  bound={_fmt(record.get('lower_bound'))}  "
                   f"gap={_fmt(record.get('gap'))}", err=True)
    return show


def _overload_text(n_links: int, max_utilization: float) -> str:
    """The OVERLOADED row of a summary table and of its warning line (README, *Overloaded designs*)."""
    return f"{n_links} link(s) at or above capacity, max utilisation {_fmt(max_utilization)}"


def _print_result(doc: dict) -> None:
    table = Table(title=f"{doc['instance']['name']}: {doc['model']['problem']} ({doc['method']})",
                  show_header=False)
    table.add_row("status", doc["status"])
    table.add_row("termination / solution", f"{doc['termination']} / {doc['solution']}")
    overload = ""
    if doc.get("overloaded"):
        overload = _overload_text(len(doc['details']['overloaded_links']), doc['details']['overload_max_utilization'])
        table.add_row("[bold red]OVERLOADED[/]", f"[bold red]{overload}[/]")
    unit = doc["objective_unit"]
    table.add_row(f"objective ({doc['objective_name']})", _fmt(doc["objective"], unit))
    table.add_row("lower bound", _fmt(doc["lower_bound"], unit))
    table.add_row("relative gap", _fmt(doc["gap"]))
    table.add_row("solve time", _fmt(doc["solve_time_s"], "s"))
    table.add_row("iterations", _fmt(doc["iterations"]))
    for key, value in doc.get("metrics", {}).items():
        if not isinstance(value, (list, dict)):
            table.add_row(key, _fmt(value))
    if doc.get("message"):
        table.add_row("message", doc["message"])
    for what, ids in (("links off", [link["id"] for link in doc.get("links", []) if not link["on"]]),
                      ("nodes off", doc.get("nodes_off", []))):
        if ids:
            table.add_row(f"{what} ({len(ids)})", ", ".join(ids))
    stdout.print(table)
    if overload:
        click.echo(f"topo-opt: warning: overloaded: {overload} (see the message)", err=True)


@cli.command()
@click.argument("instance", type=click.Path(dir_okay=False))
@card_options("min-delay", "Model card naming the problem and solver settings.", "solver.gap=1e-5")
@click.option("--gap", type=float, default=None, help="Certified relative gap (solver.gap).")
@click.option("--time-limit", type=float, default=None, help="Time limit in seconds (solver.time_limit_s).")
@click.option("--method", default=None, help="Solver method (solver.method), e.g. gradient-projection.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the solution JSON here.")
@click.option("--progress/--quiet", default=None,
              help="Show per-iteration progress on stderr (default: when stderr is a terminal).")
@click.option("--simulate", "simulate_packets", type=int, default=None, metavar="N",
              help="Simulate the design with N packets and add the model's error (see topo-opt simulate).")
def solve(instance: str, model: str, overrides: tuple[str, ...], gap: float | None,
          time_limit: float | None, method: str | None, fmt: str, out: str | None,
          progress: bool | None, simulate_packets: int | None) -> None:
    """Solve the problem of the model card on INSTANCE and print the certified result."""
    from topo_opt.io.bundled import resolve
    from topo_opt.io.solution_json import write_solution
    from topo_opt.io.topohub import is_topohub
    from topo_opt.solve.cards import load_card
    from topo_opt.errors import SolveInterrupted
    from topo_opt.solve.dispatch import solve as run
    from topo_opt.solve.document import solution_document

    if simulate_packets is not None and simulate_packets < 1:
        from topo_opt.errors import InvalidInputError
        raise InvalidInputError(f"--simulate must be >= 1 packet, got {simulate_packets}")
    checked_output(out, (".json",))
    card = load_card(model, overrides, {"solver.gap": ("--gap", gap), "solver.method": ("--method", method),
                                        "solver.time_limit_s": ("--time-limit", time_limit)})
    network = _read(instance, fmt)
    show = progress if progress is not None else sys.stderr.isatty()
    try:
        result, interrupted = run(network, card, callback=_progress_printer(show)), False
    except SolveInterrupted as stop:
        if stop.partial is None:
            raise
        result, interrupted = stop.partial, True
    doc = solution_document(network, result, card, instance_file=instance if is_topohub(instance)
                              else str(resolve(instance, "instance")))
    line = "simulation skipped: no design" if result.design is None else "simulation skipped: interrupted"
    if simulate_packets and result.design is not None and not interrupted:
        from topo_opt.cli.simulate_command import solve_simulation
        doc["simulation"], line = solve_simulation(network, result.design, simulate_packets)
    if out:
        write_solution(out, doc)
    _print_result(doc)
    if simulate_packets:
        stdout.print(line)
    if out:
        stdout.print(f"solution written to {out}")
    if interrupted:
        kept = ("the best design so far and its bound are shown" if math.isfinite(result.lower_bound)
                else "the best design so far is shown (no bound proved yet)")
        exit_interrupted(kept + (f" and written to {out}" if out else ""))


# ------------------------------------------------------------------------------------ evaluate
@cli.command()
@click.argument("instance", type=click.Path(dir_okay=False))
@click.argument("solution", type=click.Path(dir_okay=False))
@click.option("--queue", type=click.Choice(("mm1", "md1", "mg1", "mm1k")), default="mm1", show_default=True,
              help="Queue model of every link.")
@click.option("--cs2", type=float, default=1.0, show_default=True,
              help="Squared coefficient of variation of packet length (mg1).")
@click.option("--buffer", "buffer_packets", type=int, default=None,
              help="Buffer size K in packets, including the one in service (mm1k).")
@click.option("--no-fixed-delay", is_flag=True, help="Leave out propagation and processing delays.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the evaluation JSON here.")
@click.option("--links/--no-links", "show_links", default=True, help="Print the per-link table.")
@click.option("--power", "power_profile", default=None, metavar="PROFILE",
              help="Add router power (W): a device profile card (.toml) or a bundled profile name "
                   "(core-router, small-router); nodes naming their own power_profile use that card.")
@worst_case_options
def evaluate(instance: str, solution: str, queue: str, cs2: float, buffer_packets: int | None,
             no_fixed_delay: bool, fmt: str, out: str | None, show_links: bool,
             power_profile: str | None, worst_case: bool, burst: float | None,
             max_packet: float | None, traffic_class: tuple[str, ...], traffic_file: str | None) -> None:
    """Evaluate the design in SOLUTION on INSTANCE: delays, utilisation, loss, power."""
    from topo_opt.errors import InvalidInputError
    from topo_opt.evaluators.metrics import evaluate_design
    from topo_opt.io.solution_json import read_design, write_solution
    from topo_opt.model.traffic import traffic_descriptors
    from topo_opt.evaluators.design_check import check_design, overloaded_links

    if queue == "mm1k" and buffer_packets is None:
        raise InvalidInputError("--queue mm1k needs --buffer K (packets)")
    checked_output(out, (".json",))
    classes = traffic_classes(worst_case, traffic_class, traffic_file)
    network = _read(instance, fmt)
    design = read_design(solution, network)
    problems = check_design(network, design, capacity=False)  # an overloaded design is evaluated, and says so
    if problems:
        raise InvalidInputError(f"{solution}: invalid design: {problems[0]}")
    # the shapers are checked against the network before anything is printed
    traffic = traffic_descriptors(network, burst=burst, max_packet=max_packet, classes=classes) \
        if worst_case else None
    profiles = None
    if power_profile is not None:
        from topo_opt.io.power_profile import profiles_for

        profiles = profiles_for(network, power_profile)
    metrics = evaluate_design(network, design, queue=queue, cs2=cs2, buffer_packets=buffer_packets,
                              include_fixed_delay=not no_fixed_delay, power=profiles)
    overloaded, max_utilization = overloaded_links(network, design)
    doc = {"format": "topo-opt/evaluation", "version": 1, "queue": queue,  # plain JSON: no cleaning walk
           "units": {"rate": network.rate_unit, "delay": "s", "power": "W"},
           "overloaded": bool(overloaded), "overloaded_links": overloaded, **metrics.to_dict()}
    table = Table(title=f"{network.name}: evaluation ({queue})", show_header=False)
    overload = _overload_text(len(overloaded), max_utilization) if overloaded else ""
    if overload:
        table.add_row("[bold red]OVERLOADED[/]", f"[bold red]{overload}[/]")
    for key, value in doc["metrics"].items():
        if not isinstance(value, (list, dict)):
            table.add_row(key, _fmt(value))
    stdout.print(table)
    if show_links:
        links = Table(title="links (busiest first)")
        for col in ("link", "from", "to", f"capacity ({network.rate_unit})",
                    f"flow ({network.rate_unit})", "utilization", "delay (s)"):
            links.add_column(col, justify="right" if "(" in col or col == "utilization" else "left")
        arcs = sorted(doc["arcs"], key=lambda a: -(a.get("utilization") or 0))
        for arc in arcs[:20]:
            links.add_row(str(arc["link"]), str(arc["from"]), str(arc["to"]), _fmt(arc["capacity"]),
                          _fmt(arc["flow"]), _fmt(arc["utilization"]), _fmt(arc["delay_s"]))
        stdout.print(links)
    if worst_case:
        doc = add_worst_case(network, design, doc, traffic, classes)
    if out:
        write_solution(out, doc)
        stdout.print(f"evaluation written to {out}")
    if overload:
        shown = ", ".join(map(repr, overloaded[:5])) + (f" (+{len(overloaded) - 5} more)" if len(overloaded) > 5 else "")
        click.echo(f"topo-opt: warning: overloaded: {overload}: {shown}", err=True)




def main() -> None:
    """Console-script entry point."""
    cli(prog_name="topo-opt")


if __name__ == "__main__":
    main()
