"""The Kelley driver's stop rules on a scripted master: gap, stall, master failure, Ctrl-C."""
import math

import pytest

from topo_opt.algorithms.flow_deviation import CertifiedProgress
from topo_opt.model.result import Status
from topo_opt.solve.highs import HighsOutcome
from topo_opt.solve.kelley import run_kelley


class ScriptedMaster:
    """Returns the given (status, bound) outcomes in turn, as HighsSolver.solve would."""

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.calls = []

    def solve(self, time_limit_s=None, algorithm=None):
        self.calls.append(algorithm)
        status, bound = self.outcomes.pop(0)
        return HighsOutcome(status, "scripted", bound, bound, 3, 0.0)


def _run(master, incumbent=lambda: 10.0, cut=lambda: 2, gap=1e-3, max_iterations=None):
    progress = CertifiedProgress(gap, None, max_iterations, None)
    return run_kelley(master, progress, bound=lambda outcome: outcome.bound, incumbent=incumbent, cut=cut), progress


def test_stops_at_the_gap_with_the_best_bound_and_counts():
    master = ScriptedMaster([(Status.OPTIMAL, 5.0), (Status.OPTIMAL, 9.0), (Status.OPTIMAL, 9.999)])
    run, progress = _run(master)
    assert (run.status, run.iterations, run.bound) == (Status.OPTIMAL, 3, 9.999)
    assert run.cuts == 4 and run.simplex_iterations == 9  # cuts after rounds 1 and 2 only
    assert master.calls == ["ipm", "simplex", "simplex"]
    assert [h["lower_bound"] for h in progress.history] == [5.0, 9.0, 9.999]


def test_a_bound_never_decreases():
    run, progress = _run(ScriptedMaster([(Status.OPTIMAL, 9.0), (Status.OPTIMAL, 4.0)]), max_iterations=2)
    assert run.status is Status.ITERATION_LIMIT and run.bound == 9.0
    assert progress.history[-1]["gap"] == pytest.approx(0.1)


def test_no_violated_cut_is_a_stall():
    run, _ = _run(ScriptedMaster([(Status.OPTIMAL, 5.0)]), cut=lambda: 0)
    assert run.status is Status.ITERATION_LIMIT and run.message.startswith("stalled at gap 0.5")


def test_a_failing_master_ends_with_its_status_and_text():
    run, _ = _run(ScriptedMaster([(Status.OPTIMAL, 5.0), (Status.TIME_LIMIT, -math.inf)]))
    assert (run.status, run.message, run.iterations, run.bound) == \
        (Status.TIME_LIMIT, "LP stopped without a solution: scripted", 1, 5.0)


def test_ctrl_c_ends_the_loop_with_the_bound_so_far():
    calls = []

    def incumbent():
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return 10.0

    run, _ = _run(ScriptedMaster([(Status.OPTIMAL, 5.0), (Status.OPTIMAL, 6.0)]), incumbent=incumbent)
    assert run.status is Status.INTERRUPTED and run.bound == 6.0


def test_a_milp_stopped_early_with_a_point_keeps_it_then_ends_with_its_status():
    master = ScriptedMaster([(Status.OPTIMAL, 5.0), (Status.TIME_LIMIT, 6.0)])
    progress = CertifiedProgress(1e-3, None, None, None)
    run = run_kelley(master, progress, bound=lambda o: o.bound, incumbent=lambda: 10.0, cut=lambda: 1, milp=True)
    assert (run.status, run.iterations, run.bound) == (Status.TIME_LIMIT, 2, 6.0)
    assert master.calls == [None, None] and len(progress.history) == 2


def test_an_infeasible_master_is_reported_for_the_caller_to_explain():
    run, _ = _run(ScriptedMaster([(Status.INFEASIBLE, -math.inf)]))
    assert run.status is Status.INFEASIBLE and run.iterations == 0


def test_ctrl_c_inside_a_milp_keeps_highs_incumbent_as_the_last_round():
    from topo_opt.errors import SolveInterrupted

    class InterruptedMilp(ScriptedMaster):
        def solve(self, time_limit_s=None, algorithm=None):
            if len(self.calls) == 1:
                self.calls.append(algorithm)
                raise SolveInterrupted(HighsOutcome(Status.INTERRUPTED, "interrupted", 9.5, 8.0, 0, 0.0))
            return super().solve(time_limit_s, algorithm)

    seen = []
    progress = CertifiedProgress(1e-3, None, None, None)
    run = run_kelley(InterruptedMilp([(Status.OPTIMAL, 5.0)]), progress, bound=lambda o: o.bound,
                     incumbent=lambda: seen.append(1) or 10.0, cut=lambda: 1, milp=True)
    assert (run.status, run.iterations, run.bound, len(seen)) == (Status.INTERRUPTED, 2, 8.0, 2)

    class Empty(ScriptedMaster):  # interrupted before HiGHS had a point: no round is counted
        def solve(self, time_limit_s=None, algorithm=None):
            raise SolveInterrupted(HighsOutcome(Status.INTERRUPTED, "interrupted", math.nan, -math.inf, 0, 0.0))

    run = run_kelley(Empty([]), CertifiedProgress(1e-3, None, None, None), bound=lambda o: o.bound,
                     incumbent=lambda: 1.0, cut=lambda: 1, milp=True)
    assert (run.status, run.iterations, run.bound) == (Status.INTERRUPTED, 0, -math.inf)


@pytest.mark.parametrize("stop", [Status.INTERRUPTED, Status.TIME_LIMIT])
def test_a_milp_stopped_without_a_point_still_proves_its_dual_bound(stop):
    """Ctrl-C or the limit before HiGHS's first incumbent (NaN objective): no round, no
    incumbent() call, but the dual bound HiGHS proved is the run's bound (the caller answers
    with its starting design); an LP's bound counts only at its optimum."""
    from topo_opt.errors import SolveInterrupted

    class NoPoint(ScriptedMaster):
        def solve(self, time_limit_s=None, algorithm=None):
            self.calls.append(algorithm)
            if len(self.calls) == 1:
                return super().solve(time_limit_s, algorithm)
            outcome = HighsOutcome(stop, "no point", math.nan, 7.0, 0, 0.0)
            if stop is Status.INTERRUPTED:
                raise SolveInterrupted(outcome)
            return outcome

    seen = []
    run = run_kelley(NoPoint([(Status.OPTIMAL, 5.0)]), CertifiedProgress(1e-3, None, None, None),
                     bound=lambda o: o.bound, incumbent=lambda: seen.append(1) or 10.0, cut=lambda: 1, milp=True)
    assert (run.status, run.iterations, run.bound, len(seen)) == (stop, 1, 7.0, 1)
    assert run.message.startswith("interrupted (Ctrl-C)" if stop is Status.INTERRUPTED else "MILP stopped without")
    run = run_kelley(NoPoint([(Status.OPTIMAL, 5.0)]), CertifiedProgress(1e-3, None, None, None),
                     bound=lambda o: o.bound, incumbent=lambda: 10.0, cut=lambda: 1)
    assert (run.status, run.bound) == (stop, 5.0)  # an LP stopped early proves nothing
