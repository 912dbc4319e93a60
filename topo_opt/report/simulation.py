"""The ``topo-opt simulate --plot`` figure: delay distributions and model against simulation."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from topo_opt.report.figure import new_figure, write_figure


def plot_simulation(result, path: str | Path, top: int = 5) -> None:
    """Two panels, written atomically to ``path`` (PNG/PDF/SVG).

    Left: the empirical distribution (CCDF, log scale) of the end-to-end delay of the ``top``
    demands with the largest rates, the model's mean as a dotted line of the same colour; the
    delays are shown above the demand's shortest processing + propagation delay over its used
    paths (on a continental network propagation would hide the queueing).
    Right: the simulated time in queue of each loaded arc (with its confidence interval)
    against the model's prediction, and the line y = x (log-log when they span decades).

    Parameters
    ----------
    result : topo_opt.simulation.SimulationResult
    path : str or Path
    top : int
        Demands drawn on the left.
    """
    scale, unit = _time_unit(np.nanmax(result.arc_queue_delay.mean, initial=0.0))
    fig = new_figure(figsize=(11, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    net = result.network
    bounds = np.searchsorted(result.delay_demand, np.arange(net.n_demands + 1))
    offset = _shortest_fixed_delay(result)
    largest = np.argsort(-net.demand_rate, kind="stable")[:top]
    for k in largest:
        delays = result.delays_s[bounds[k]:bounds[k + 1]]
        if not delays.size:
            continue
        x = np.sort(delays) - offset[k]
        rank = _ccdf_points(x.size)
        line, = left.step(x[rank] * scale, 1.0 - rank / x.size, where="post", label=net.demands[k].id)
        model = result.demand_delay.model[k]
        if np.isfinite(model):
            left.axvline((model - offset[k]) * scale, color=line.get_color(), linestyle=":", linewidth=1)
    left.set_yscale("log")
    left.set_xlabel(f"end-to-end delay above processing + propagation ({unit})")
    left.set_ylabel("P(delay > x)")
    left.set_title(f"largest {len(largest)} demands (dotted: {result.model_name} mean)")
    if len(largest):
        left.legend(fontsize="small")

    loaded = result.arc_offered > 0
    sim = result.arc_queue_delay.mean[loaded] * scale
    half = np.nan_to_num(result.arc_queue_delay.half_width[loaded]) * scale
    model = result.arc_queue_delay.model[loaded] * scale
    right.errorbar(model, sim, yerr=half, fmt="o", markersize=3, capsize=2)
    finite = np.concatenate([model[np.isfinite(model)], sim[np.isfinite(sim)]])
    if finite.size:
        lo, hi = finite.min(), finite.max()
        right.plot([lo, hi], [lo, hi], color="grey", linewidth=1, label="y = x")
        right.legend(fontsize="small")
        if lo > 0 and hi / lo > 20:
            right.set_xscale("log")
            right.set_yscale("log")
    right.set_xlabel(f"{result.model_name} time in queue ({unit})")
    right.set_ylabel(f"simulated time in queue ({unit})")
    right.set_title(f"{net.name}: per arc, {100 * result.options.level:g} % CI")
    write_figure(fig, path)


def _shortest_fixed_delay(result) -> np.ndarray:
    """Per demand, the least processing + propagation delay (s) of its used paths."""
    net, routing = result.network, result.design.routing
    fixed = routing.path_sums(result.kleinrock.arc_fixed_delay_s)
    used = routing.fraction > 0
    out = np.full(net.n_demands, np.inf)
    np.minimum.at(out, routing.demand[used], fixed[used])
    return np.where(np.isfinite(out), out, 0.0)


def _time_unit(*values: float) -> tuple[float, str]:
    """Scale factor and name of the time unit that suits the largest of ``values`` (s)."""
    largest = max((v for v in values if np.isfinite(v)), default=0.0)
    for scale, unit in ((1e6, "µs"), (1e3, "ms")):
        if largest * scale < 1e4:
            return scale, unit
    return 1.0, "s"


def _ccdf_points(n: int, points: int = 2000) -> np.ndarray:
    """Ranks of a sorted sample to draw its CCDF with at most ~2·``points`` steps: evenly spaced,
    plus geometrically spaced towards the tail (the log scale shows it)."""
    if n <= 2 * points:
        return np.arange(n)
    tail = n - np.unique(np.geomspace(n, 1, points).astype(np.int64))
    return np.unique(np.concatenate([np.linspace(0, n - 1, points).astype(np.int64), tail]))
