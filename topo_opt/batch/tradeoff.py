"""The power–delay trade-off: min power against the delay bound T_max, by the MILP (with its
bound, :func:`~topo_opt.solve.min_power.solve_min_power`) and the EARP heuristic
(:func:`~topo_opt.algorithms.earp.solve_earp`), one record per T_max (``topo-opt tradeoff``).
"""
from __future__ import annotations

import math

from topo_opt.errors import InfeasibleError, SolveInterrupted
from topo_opt.evaluators.power import NodePowerModel, Profiles
from topo_opt.model.network import Network
from topo_opt.model.result import SolveResult, relative_gap
from topo_opt.solve.min_power import solve_min_power


def power_delay_tradeoff(network: Network, profiles: Profiles, max_delays_s: list[float], *,
                         max_utilization: float = 1.0, include_fixed_delay: bool = True,
                         gap: float = 1e-4, time_limit_s: float | None = None,
                         n_candidates: int = 8) -> list[dict]:
    """Min power against T_max: the MILP and the EARP heuristic at each bound (one record each).

    Records, in increasing T_max, hold ``max_delay_s``, ``milp_power_w``, ``milp_bound_w``,
    ``milp_gap``, ``milp_delay_s``, ``milp_time_s``, ``earp_power_w``, ``earp_delay_s``,
    ``earp_time_s`` and ``earp_excess`` = earp/milp − 1; NaN where a method found no design
    (``*_status`` says why).  The heuristic's candidate paths are computed once for the sweep.

    A design that meets a tighter bound meets every looser one, so a looser T_max never reports
    a worse design: when a method's design at an earlier (tighter) T_max has less power than its
    own answer at this one (the MILP stops within its MIP gap; the heuristic is greedy), that
    design is reported, and ``*_design_max_delay_s`` names the T_max it was found at (else it is
    this record's ``max_delay_s``).  ``milp_bound_w`` stays the bound proven at this T_max.

    Raises
    ------
    SolveInterrupted
        On Ctrl-C; ``partial`` is the list of finished records, the last one with the
        interrupted MILP's best design and bound (``milp_status`` ``interrupted``) when it had one.
    """
    from topo_opt.algorithms.earp import solve_earp
    from topo_opt.evaluators.delay import zero_load_delay_s
    from topo_opt.algorithms.path_enumeration import k_shortest_paths

    model = NodePowerModel.for_network(network, profiles)
    candidates = k_shortest_paths(network, zero_load_delay_s(network), n_candidates)
    records: list[dict] = []
    best: dict[str, tuple[float, float, float]] = {}  # method -> (power W, delay s, T_max s)
    for t_max in sorted(max_delays_s):
        record: dict = {"max_delay_s": t_max}
        runs = (("milp", lambda: solve_min_power(
                    network, model, max_delay_s=t_max, max_utilization=max_utilization,
                    include_fixed_delay=include_fixed_delay, gap=gap, time_limit_s=time_limit_s)),
                ("earp", lambda: solve_earp(
                    network, model, max_delay_s=t_max, max_utilization=max_utilization,
                    include_fixed_delay=include_fixed_delay, candidates=candidates,
                    n_candidates=n_candidates)))
        for name, run in runs:
            try:
                result = run()
            except InfeasibleError as exc:
                _tradeoff_entry(record, name, None, best, t_max, f"infeasible: {exc}")
                continue
            except KeyboardInterrupt as stop:
                partial = getattr(stop, "partial", None)
                if name == "milp" and isinstance(partial, SolveResult) and partial.method == "min-power-milp":
                    _tradeoff_entry(record, name, partial, best, t_max)
                    records.append(record)
                raise SolveInterrupted(records) from None
            _tradeoff_entry(record, name, result, best, t_max)
        records.append(record)
    return records


def _tradeoff_entry(record: dict, name: str, result: SolveResult | None, best: dict, t_max: float,
                    failure: str = "") -> None:
    """Fill ``record``'s ``name`` columns from ``result`` (None: ``failure`` says why), or from
    the lower-power design ``best[name]`` kept from a tighter T_max; keep the better in ``best``."""
    nan = math.nan
    power, delay = (nan, nan) if result is None else (result.objective, result.details.get("average_delay_s", nan))
    status = failure if result is None else result.status.value
    found_at = t_max
    if name in best and not best[name][0] >= power:  # also when this run found no design
        power, delay, found_at = best[name]
        status = status if result is not None else "feasible"
    elif math.isfinite(power):
        best[name] = (power, delay, t_max)
    record.update({f"{name}_status": status, f"{name}_power_w": power, f"{name}_delay_s": delay,
                   f"{name}_time_s": nan if result is None else result.solve_time_s,
                   f"{name}_design_max_delay_s": found_at if math.isfinite(power) else nan})
    if name == "milp":
        bound = nan if result is None else result.lower_bound
        record.update(milp_bound_w=bound, milp_gap=relative_gap(power, bound) if result is not None else nan)
    record["earp_excess"] = record.get("earp_power_w", nan) / record.get("milp_power_w", nan) - 1.0
