"""HiGHS's presolve can call a feasible problem "infeasible or unbounded" (a window of SNDlib
atlanta's pure-cost modular design MILP: optimal at 5.572e7 without presolve, and the whole
solve ended in an error); :meth:`HighsSolver.solve` then solves once more without presolve."""
import pyomo.environ as pyo
import pytest
from pyomo.contrib.solver.common.results import TerminationCondition

from topo_opt.errors import TopoOptError
from topo_opt.model.result import Status
from topo_opt.solve.highs import HighsSolver


def _small_milp() -> pyo.ConcreteModel:
    model = pyo.ConcreteModel()
    model.x = pyo.Var([0, 1], domain=pyo.Binary)
    model.y = pyo.Var(domain=pyo.NonNegativeReals)
    model.cover = pyo.Constraint(expr=2 * model.x[0] + 3 * model.x[1] + model.y >= 4)
    model.cost = pyo.Objective(expr=5 * model.x[0] + 4 * model.x[1] + 3 * model.y)
    return model


def _presolve_says_undecided(solver: HighsSolver, seen: list[str]) -> None:
    """Make every solve with presolve on answer as HiGHS's presolve did on atlanta."""
    real = solver._solver.solve

    def solve(model, **kwargs):
        presolve = kwargs["solver_options"].get("presolve", "choose")
        seen.append(presolve)
        results = real(model, **kwargs)
        if presolve != "off":
            results.termination_condition = TerminationCondition.infeasibleOrUnbounded
        return results

    solver._solver.solve = solve


def test_an_undecided_presolve_is_solved_again_without_it():
    solver = HighsSolver(_small_milp())
    seen: list[str] = []
    _presolve_says_undecided(solver, seen)
    outcome = solver.solve(time_limit_s=10.0)
    assert seen == ["choose", "off"]
    assert outcome.status is Status.OPTIMAL
    assert outcome.objective == pytest.approx(7.0)  # x1 = 1 (cost 4) and y = 1 (cost 3)


def test_a_truly_unbounded_problem_still_raises_after_the_second_solve():
    model = pyo.ConcreteModel()
    model.x = pyo.Var(domain=pyo.NonNegativeReals)
    model.cost = pyo.Objective(expr=-model.x)
    solver = HighsSolver(model)
    with pytest.raises(TopoOptError, match="without a usable answer"):
        solver.solve(time_limit_s=10.0)
