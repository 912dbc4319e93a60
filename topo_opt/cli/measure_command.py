"""``topo-opt measure``: from counters and probes to model inputs (rates, traffic matrices, delays)."""
from __future__ import annotations

import math
from pathlib import Path

import click
from rich.table import Table

from topo_opt.cli.console import FORMAT_CHOICES, fmt_value, say_written, stdout
from topo_opt.errors import InvalidInputError
from topo_opt.measure import STATISTICS as STATISTIC_CHOICES
from topo_opt.solve.instance_loader import read_network

COMPARISON_ROWS = 12  # the rest is in the --out file


def _check_suffix(path: str | None, option: str, suffixes: tuple[str, ...]) -> None:
    if path and Path(path).suffix.lower() not in suffixes:
        raise InvalidInputError(f"{option} {path}: expected a {' or '.join(suffixes)} file")


def _utc(seconds: float) -> str:
    from datetime import datetime, timezone

    if not math.isfinite(seconds):
        return "n/a"
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@click.group()
def measure() -> None:
    """From measurements to model inputs: counters to rates, link loads to a traffic matrix,
    probe delays to link delay models."""


# ------------------------------------------------------------------------------------ poll
@measure.command()
@click.argument("host")
@click.option("--interface", "interfaces", multiple=True, required=True, metavar="IFINDEX=ID[:DIRECTION]",
              help="An agent interface (IF-MIB ifIndex) measuring link or node ID; DIRECTION is what it "
                   "sends (forward, reverse, egress, ingress; default forward), it receives the opposite. "
                   "Repeatable.")
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="Counter CSV to write (the long format 'measure rates' reads), flushed after every poll.")
@click.option("--interval", "interval_s", type=float, default=300.0, show_default=True, help="Seconds between polls.")
@click.option("--count", type=int, default=None, help="Number of polls [default: until Ctrl-C].")
@click.option("--port", type=int, default=161, show_default=True, help="Agent UDP port.")
@click.option("--community", default="public", show_default=True, help="SNMPv2c community.")
@click.option("--timeout", "timeout_s", type=float, default=2.0, show_default=True, help="Seconds per request.")
@click.option("--retries", type=int, default=1, show_default=True, help="Retries per poll.")
def poll(host: str, interfaces: tuple[str, ...], out: str, interval_s: float, count: int | None, port: int,
         community: str, timeout_s: float, retries: int) -> None:
    """Poll HOST's IF-MIB 64-bit octet counters (ifHCInOctets, ifHCOutOctets, ifHighSpeed) over
    SNMPv2c into a counter CSV for 'measure rates' (needs pysnmp: pip install 'topo-opt[snmp]').
    Ctrl-C exits with code 130 and keeps every poll written."""
    import sys

    from topo_opt.cli.console import checked_output, exit_interrupted
    from topo_opt.measure.snmp_poll import PollOptions, parse_interface, poll_to_file

    checked_output(out, (".csv",))
    options = PollOptions(host, port, community, interval_s, count, timeout_s, retries)
    mapped = [parse_interface(spec) for spec in interfaces]
    polls = [0]

    def polled(n: int) -> None:
        polls[0] = n
        if sys.stderr.isatty():  # one line per poll: polls are minutes apart
            click.echo(f"poll {n}" + (f"/{count}" if count else "") + f" written to {out}", err=True)

    def missed(message: str) -> None:
        click.echo(f"topo-opt: warning: {message} (poll left out: a gap for 'measure rates')", err=True)

    try:
        written = poll_to_file(options, mapped, out, on_poll=polled, on_missed=missed)
    except KeyboardInterrupt:
        exit_interrupted(f"{polls[0]} poll(s) of {len(mapped)} interface(s) kept in {out}" if polls[0]
                         else f"before the first answer; {out} not written")
    stdout.print(f"{written} poll(s) of {len(mapped)} interface(s) written to {out}")


# ------------------------------------------------------------------------------------ rates
@measure.command()
@click.argument("counters", type=click.Path(dir_okay=False))
@click.option("--bin", "bin_s", type=float, default=300.0, show_default=True, help="Bin width in seconds.")
@click.option("--max-gap", "max_gap_s", type=float, default=None,
              help="Polls further apart than this (s) are a gap [default: 1.5 x the median polling interval].")
@click.option("--unit", type=click.Choice(("octets", "bits", "packets")), default="octets", show_default=True,
              help="What the counters count.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="Write the per-interface summary (.csv) or summary, gaps, events and binned series (.json).")
@click.option("--instance", type=click.Path(dir_okay=False), default=None,
              help="Instance whose links the counters measure (checks the ids; speeds from capacities).")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True)
@click.option("--routing", "--solution", "routing", default=None,
              help="Compare with the loads this routing predicts for the instance's demands: "
                   "min-hop, shortest-length, ecmp or a solution JSON file (needs --instance).")
@click.option("--statistic", type=click.Choice(STATISTIC_CHOICES), default="mean", show_default=True,
              help="Measured statistic compared with the prediction.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Write the measured-against-predicted plot (PNG/PDF/SVG, needs matplotlib).")
def rates(counters: str, bin_s: float, max_gap_s: float | None, unit: str, out: str | None,
          instance: str | None, fmt: str, routing: str | None, statistic: str, plot: str | None) -> None:
    """Link rates from interface COUNTERS (CSV): wraps undone, resets and gaps reported, rates
    binned, and per interface the mean, peak, busy-hour and 95th-percentile rate."""
    from topo_opt.io.atomic import atomic_write_text
    from topo_opt.measure import counters as ctr
    from topo_opt.measure import rates as rt
    from topo_opt.measure.rates_file import rates_csv, rates_json

    _check_suffix(out, "--out", (".csv", ".json"))
    _check_suffix(plot, "--plot", (".png", ".pdf", ".svg"))
    if not (math.isfinite(bin_s) and bin_s > 0):
        raise InvalidInputError(f"--bin must be a number of seconds > 0, got {bin_s!r}")
    if (routing or plot) and not instance:
        raise InvalidInputError("--routing/--solution and --plot need --instance")
    if plot and not routing:
        raise InvalidInputError("--plot needs --routing (or --solution) to predict the loads")
    series = ctr.read_counters(counters)
    network = read_network(instance, fmt) if instance else None
    rate_unit = ctr.UNITS[unit][1]
    if routing and rate_unit != network.rate_unit:
        raise InvalidInputError(f"--unit {unit} gives rates in {rate_unit}, instance {network.name!r} is in "
                                f"{network.rate_unit}")
    speeds: dict = {}
    if network is not None:
        from topo_opt.measure.routing_matrix import interface_rows

        keys = sorted(series)
        for key, (kind, index) in zip(keys, interface_rows(network, keys, counters)):
            if kind == "arc" and math.isnan(series[key].speed) and rate_unit == network.rate_unit:
                speeds[key] = float(network.link_capacity[network.arc_link[index]])
    clean = [ctr.clean_series(series[key], max_gap_s, unit, speeds.get(key)) for key in sorted(series)]
    binned = rt.bin_all(clean, bin_s, rate_unit)
    records = rt.summarize(binned, clean)
    comparison = None
    if routing:
        from topo_opt.measure.compare import compare_loads
        from topo_opt.measure.routing_matrix import routing_for

        measured = {(r["link"], r["direction"]): r[statistic] for r in records if math.isfinite(r[statistic])}
        comparison = compare_loads(network, routing_for(network, routing), measured, counters)
    if out:
        text = rates_csv(records, rate_unit) if out.lower().endswith(".csv") else rates_json(
            records, binned, {"bin_s": bin_s, "max_gap_s": max_gap_s, "unit": unit, "counters": counters,
                              **({"comparison": comparison, "routing": routing, "statistic": statistic}
                                 if comparison else {})})
        atomic_write_text(out, text)
    if plot:
        from topo_opt.report.measure_plot import plot_load_comparison

        plot_load_comparison(comparison, plot, f"{network.name}: {statistic} load, {routing}", rate_unit)
    _print_rates(records, binned, rate_unit)
    if comparison is not None:
        _print_comparison(comparison, statistic, routing, network.rate_unit)
    say_written(out, plot)


def _print_rates(records: list[dict], binned, rate_unit: str) -> None:
    table = Table(title=f"link rates ({rate_unit}; {binned.bin_s:g}-s bins from {_utc(binned.edges[0])} UTC, "
                        f"{len(binned.edges) - 1} bins)")
    for column in ("link", "dir", "polls", "valid bins", "mean", "peak", "busy hour (start UTC)",
                   "p95", "wraps", "resets", "gaps"):
        table.add_column(column, justify="left" if column in ("link", "dir") else "right",
                         no_wrap=column in ("link", "dir"))
    for r in records:
        busy = f"{fmt_value(r['busy_hour'])} ({_utc(r['busy_hour_start_s'])[11:16]})" \
            if math.isfinite(r["busy_hour"]) else "n/a"
        table.add_row(r["link"], r["direction"], str(r["n_polls"]), f"{r['n_valid']}/{r['n_bins']}",
                      fmt_value(r["mean"]), fmt_value(r["peak"]), busy, fmt_value(r["p95"]), str(r["n_wraps"]),
                      str(r["n_resets"]), str(len(r["gaps"])))
    stdout.print(table)
    for r in records:
        for event in r["events"]:
            stdout.print(f"{event['kind']}: {r['link']} {r['direction']} between {_utc(event['start_s'])} and "
                         f"{_utc(event['end_s'])} UTC: {event['message']}")


def _print_comparison(records: list[dict], statistic: str, routing: str, rate_unit: str) -> None:
    from topo_opt.measure.compare import summary

    shown = records[:COMPARISON_ROWS]
    table = Table(title=f"measured {statistic} against the load {routing} routing predicts ({rate_unit}); "
                        f"{len(shown)} of {len(records)} interfaces, largest |ratio - 1| first")
    for column in ("link", "dir", "measured", "predicted", "difference", "ratio"):
        table.add_column(column, justify="left" if column in ("link", "dir") else "right")
    for r in shown:
        table.add_row(r["link"], r["direction"], fmt_value(r["measured"]), fmt_value(r["predicted"]),
                      fmt_value(r["difference"]), fmt_value(r["ratio"]))
    stdout.print(table)
    s = summary(records)
    stdout.print(f"{s['interfaces']} interfaces: ||measured - predicted|| / ||predicted|| = "
                 f"{fmt_value(s['relative_difference'])}, largest |ratio - 1| = "
                 f"{fmt_value(s['max_abs_ratio_deviation'])}")


# ------------------------------------------------------------------------------------ tm
@measure.command()
@click.argument("instance", type=click.Path(dir_okay=False))
@click.argument("rates_file", metavar="RATES", type=click.Path(dir_okay=False))
@click.option("--routing", default="min-hop", show_default=True,
              help="Routing in force when the counters were taken: min-hop, shortest-length, ecmp or a "
                   "solution JSON file.")
@click.option("--method", type=click.Choice(("tomogravity", "gravity", "least-squares")), default="tomogravity",
              show_default=True)
@click.option("--lambda", "lam", type=float, default=0.01, show_default=True,
              help="Tomogravity weight of the prior (rates scaled by the largest measured load).")
@click.option("--statistic", type=click.Choice(STATISTIC_CHOICES), default="mean", show_default=True,
              help="Which rate of the RATES file to explain (mean: loads taken at the same times).")
@click.option("--pairs", type=click.Choice(("instance", "all")), default="instance", show_default=True,
              help="Estimate the instance's demand pairs, or every ordered pair of nodes.")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help="Write the instance with the estimated demands (native JSON).")
def tm(instance: str, rates_file: str, routing: str, method: str, lam: float, statistic: str, pairs: str,
       fmt: str, out: str) -> None:
    """Estimate the traffic matrix of INSTANCE from the link RATES (CSV or JSON of `measure rates`)
    and write the instance with the estimated demands, ready for `topo-opt solve`."""
    import numpy as np

    from topo_opt.io.detect import write_instance
    from topo_opt.measure import routing_matrix as rm
    from topo_opt.measure import traffic_matrix as est
    from topo_opt.measure.rates_file import read_rates

    _check_suffix(out, "--out", (".json",))
    network = read_network(instance, fmt)
    measured, unit = read_rates(rates_file, statistic)
    if unit != network.rate_unit:
        raise InvalidInputError(f"{rates_file}: rates in {unit}, instance {network.name!r} in {network.rate_unit}")
    od = rm.all_pairs(network) if pairs == "all" or network.n_demands == 0 else network
    keys = list(measured)
    matrix = rm.measurement_matrix(od, rm.routing_for(od, routing), keys, rates_file)
    y = np.array([measured[k] for k in keys])
    result = est.estimate(od, keys, y, matrix, method, lam)
    estimated = est.estimated_network(od, result, {"routing": routing, "rates_file": rates_file,
                                                   "statistic": statistic, "pairs": pairs})
    write_instance(estimated, out, format="json")
    _print_fit(od, result, statistic, routing)
    if od is network:  # the instance's own demands, e.g. a planning matrix or a known truth
        stdout.print(f"difference to the demands in {instance}: ||x - r|| / ||r|| = "
                     f"{fmt_value(est.relative_error(result.x, network.demand_rate))}")
    stdout.print(f"wrote {out}: {estimated.n_demands} demands, total {fmt_value(estimated.total_demand)} "
                 f"{network.rate_unit}")


def _print_fit(network, result, statistic: str, routing: str) -> None:
    import numpy as np

    table = Table(title=f"{network.name}: traffic matrix by {result.method} ({statistic} rates, {routing} routing)",
                  show_header=False)
    rows = [("interfaces measured", str(len(result.keys))), ("demands estimated", str(network.n_demands)),
            ("rank of the routing matrix", str(result.rank)),
            ("unidentifiable demands", f"{len(result.unidentifiable)} (null space of the routing matrix)"),
            ("||y - A x|| / ||y||", fmt_value(result.relative_residual)),
            ("total estimated", f"{fmt_value(float(result.x.sum()))} {network.rate_unit}"),
            ("total gravity prior", f"{fmt_value(float(result.prior.sum()))} {network.rate_unit}")]
    if "lambda" in result.options:
        rows.insert(0, ("lambda", fmt_value(result.options["lambda"])))
    for row in rows:
        table.add_row(*row)
    stdout.print(table)
    worst = np.argsort(-np.abs(result.residual))[:8]
    res = Table(title=f"largest link-load residuals y - A x ({network.rate_unit})")
    for column in ("link", "dir", "measured", "fitted", "residual"):
        res.add_column(column, justify="left" if column in ("link", "dir") else "right")
    for i in worst:
        res.add_row(result.keys[i][0], result.keys[i][1], fmt_value(float(result.y[i])),
                    fmt_value(float(result.y[i] - result.residual[i])), fmt_value(float(result.residual[i])))
    stdout.print(res)


# ------------------------------------------------------------------------------------ probe trains
def _floats(text: str, option: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInputError(f"{option} {text!r}: expected comma-separated numbers") from None


@measure.group("probe-train")
def probe_train() -> None:
    """Probe trains over a path of FIFO servers (deterministic tandem model): simulate, infer."""


@probe_train.command("simulate")
@click.option("--capacity", required=True, help="Server capacities in bit/s, comma-separated, in path order.")
@click.option("--cross-share", default=None, help="Fluid cross traffic per server as a share of its capacity.")
@click.option("--propagation", default=None, help="Propagation after each server, s.")
@click.option("--outage", "outages", multiple=True, metavar="SERVER:START:DURATION",
              help="Server (1-based) serves nothing from START for DURATION seconds; repeatable.")
@click.option("--train", "trains", multiple=True, metavar="GAP:PACKETS",
              help="A train of PACKETS sent every GAP s (0: back-to-back pairs); repeatable "
                   "[default: 0:20 5e-5:200 1e-4:200 3e-4:400].")
@click.option("--length", "length_bits", type=float, default=12000.0, show_default=True, help="Packet length, bit.")
@click.option("--spacing", type=float, default=0.1, show_default=True, help="Seconds between trains.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Probe CSV to write.")
def probe_simulate(capacity: str, cross_share: str | None, propagation: str | None, outages: tuple[str, ...],
                   trains: tuple[str, ...], length_bits: float, spacing: float, out: str) -> None:
    """Simulate probe trains over the path and write their send and receive times."""
    import numpy as np

    from topo_opt.io.atomic import atomic_write_text
    from topo_opt.measure import probe_train as pt

    _check_suffix(out, "--out", (".csv",))
    caps = _floats(capacity, "--capacity")
    shares = _floats(cross_share, "--cross-share") if cross_share else [0.0] * len(caps)
    props = _floats(propagation, "--propagation") if propagation else [0.0] * len(caps)
    if not len(caps) == len(shares) == len(props):
        raise InvalidInputError("--capacity, --cross-share and --propagation need one value per server")
    per_server: list[list] = [[] for _ in caps]
    for text in outages:
        parts = text.split(":")
        if len(parts) != 3 or not parts[0].isdigit() or not 1 <= int(parts[0]) <= len(caps):
            raise InvalidInputError(f"--outage {text!r}: expected SERVER:START:DURATION with SERVER in 1..{len(caps)}")
        per_server[int(parts[0]) - 1].append(tuple(_floats(",".join(parts[1:]), "--outage")))
    servers = [pt.Server(c, x, p, tuple(o)) for c, x, p, o in zip(caps, shares, props, per_server)]
    specs = []
    for text in trains or ("0:20", "5e-5:200", "1e-4:200", "3e-4:400"):
        gap, _, count = text.partition(":")
        if not count.isdigit():
            raise InvalidInputError(f"--train {text!r}: expected GAP:PACKETS")
        specs.append((_floats(gap, "--train")[0], int(count)))
    measured = []
    for number, send in enumerate(pt.schedule(specs, 0.0, spacing)):
        lengths = np.full(send.size, length_bits)
        measured.append(pt.Train(str(number), send, pt.simulate(servers, send, lengths), lengths))
    atomic_write_text(out, pt.trains_csv(measured))
    table = Table(title="simulated probe trains (delays in s)")
    for column in ("train", "gap (s)", "packets", "first delay", "last delay", "max delay"):
        table.add_column(column, justify="right")
    for (gap, count), train in zip(specs, measured):
        delay = train.delay_s
        table.add_row(train.train_id, fmt_value(gap), str(count), fmt_value(float(delay[0])),
                      fmt_value(float(delay[-1])), fmt_value(float(delay.max())))
    stdout.print(table)
    stdout.print(f"written to {out}")


@probe_train.command("infer")
@click.argument("probes", type=click.Path(dir_okay=False))
@click.option("--min-jump", "min_jump_s", type=float, default=None,
              help="Delay jump (s) that starts an outage [default: 6 robust std of the increments].")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the inference JSON.")
def probe_infer(probes: str, min_jump_s: float | None, out: str | None) -> None:
    """Bottleneck capacity (packet pairs), cross-traffic share and outages from the trains in PROBES
    (CSV: train,packet,send_s,receive_s,length_bits)."""
    import json

    from topo_opt.io.atomic import atomic_write_text
    from topo_opt.io.solution_json import json_clean
    from topo_opt.measure import probe_train as pt

    _check_suffix(out, "--out", (".json",))
    result = pt.infer(pt.read_trains(probes), min_jump_s)
    if out:
        atomic_write_text(out, json.dumps(json_clean({"format": "topo-opt/probe-inference", "version": 1,
                                                      "units": {"rate": "bit/s", "time": "s"},
                                                      **result.to_dict()}), indent=1) + "\n")
    doc = result.to_dict()
    table = Table(title=f"bottleneck from {probes}", show_header=False)
    table.add_row("capacity (packet pairs)", f"{fmt_value(doc['capacity_bps'])} bit/s")
    table.add_row("cross-traffic share", fmt_value(doc["cross_traffic_share"]))
    table.add_row("available rate", f"{fmt_value(doc['available_bps'])} bit/s")
    stdout.print(table)
    trains = Table(title="trains")
    for column in ("train", "packets", "send gap (s)", "receive spacing (s)", "saturating"):
        trains.add_column(column, justify="right")
    for info in doc["trains"]:
        trains.add_row(info["train"], str(info["packets"]), fmt_value(info["gap_s"]),
                       fmt_value(info.get("receive_spacing_s")), "yes" if info.get("saturating") else "")
    stdout.print(trains)
    for o in doc["outages"]:
        stdout.print(f"outage in train {o['train_id']}: start {o['start_s']:.6g} s ± {o['start_uncertainty_s']:.2g} "
                     f"(sender clock), duration {o['duration_s']:.6g} s ± {o['duration_uncertainty_s']:.2g}, "
                     f"packets {o['first_packet']}..{o['last_packet']} delayed")
    if not doc["outages"]:
        stdout.print("no outage found")
    if out:
        stdout.print(f"written to {out}")


# ------------------------------------------------------------------------------------ tree delays
@measure.command("tree-delays")
@click.argument("probes", type=click.Path(dir_okay=False))
@click.argument("tree_file", metavar="TREE", type=click.Path(dir_okay=False))
@click.option("--bins", type=int, default=32, show_default=True, help="Bins over the delay range at the finest level.")
@click.option("--bin-width", "bin_s", type=float, default=None, help="Finest bin width in s (instead of --bins).")
@click.option("--levels", type=int, default=3, show_default=True, help="Coarse-to-fine levels (bin width halved each).")
@click.option("--max-iter", type=int, default=200, show_default=True, help="EM iterations per level at most.")
@click.option("--keep-fixed", is_flag=True, help="Do not subtract each receiver's smallest delay first.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the per-link delay models (JSON).")
def tree_delays(probes: str, tree_file: str, bins: int, bin_s: float | None, levels: int, max_iter: int,
                keep_fixed: bool, out: str | None) -> None:
    """Per-link queueing-delay distributions of the probe TREE (JSON) from the end-to-end delays in
    PROBES (CSV: train,receiver,delay_s): EM over binned delays, Weibull fits, M/M/1 comparison."""
    import json

    from topo_opt.io.atomic import atomic_write_text
    from topo_opt.io.solution_json import json_clean
    from topo_opt.measure import tree_tomography as tt

    _check_suffix(out, "--out", (".json",))
    tree = tt.read_tree(tree_file)
    delays, dropped = tt.read_probes(probes, tree)
    result = tt.fit_em(tree, delays, bins=bins, levels=levels, max_iter=max_iter, subtract_min=not keep_fixed,
                       bin_s=bin_s)
    models = tt.link_models(tree, result)
    options = {"probes": probes, "tree": tree_file, "bins": bins, "bin_width_s": bin_s, "levels": levels,
               "max_iter": max_iter, "subtract_min": not keep_fixed, "trains": int(delays.shape[0]),
               "incomplete_trains_dropped": dropped}
    if out:
        atomic_write_text(out, json.dumps(json_clean(tt.delays_document(tree, result, models, options)),
                                          indent=1) + "\n")
    table = Table(title=f"link queueing delays from {delays.shape[0]} trains ({len(tree.receivers)} receivers; "
                        f"bin {result.bin_s:.3g} s; EM iterations per level {list(result.iterations)})")
    for column in ("link", "from", "to", "mean (s)", "std (s)", "P(0)", "Weibull a", "Weibull b", "fit r2",
                   "M/M/1 mean (s)", "flags"):
        table.add_column(column, justify="left" if column in ("link", "from", "to", "flags") else "right")
    for m in models:
        w = m["weibull"] or {}
        flags = [f for f, on in (("below resolution", m["below_resolution"]),
                                 ("not identifiable", not m["identifiable"])) if on]
        mm1 = m.get("mm1") or {}
        table.add_row(m["id"], m["parent"], m["child"], fmt_value(m["mean_s"]), fmt_value(m["std_s"]),
                      fmt_value(m["p_zero"]), fmt_value(w.get("a")), fmt_value(w.get("b")), fmt_value(w.get("r2")),
                      "saturated" if mm1.get("saturated") else fmt_value(mm1.get("mean_wait_s")), ", ".join(flags))
    stdout.print(table)
    if dropped:
        stdout.print(f"{dropped} incomplete trains dropped (a train needs a packet for every receiver)")
    if out:
        stdout.print(f"written to {out}")
