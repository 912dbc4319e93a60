"""HighsSolver: a time limit per LP solve (HiGHS sums an LP's run time over every run of one
object and compares its time_limit with that sum)."""
import numpy as np
import pyomo.environ as pyo

from topo_opt.model.result import Status
from topo_opt.solve.highs import HighsSolver


def test_an_lp_time_limit_counts_from_the_start_of_its_solve():
    """After LP solves that ran for R in all (HiGHS's clock), one more row and a warm re-solve (a
    few dual simplex iterations, far below one cold solve) with a limit of R/2: optimal, not
    stopped at once as when the limit counted from the first run (seen: 0 iterations, "Time
    limit reached")."""
    rng = np.random.default_rng(7)
    model = pyo.ConcreteModel()
    model.x = pyo.Var(range(800), bounds=(0, 1))
    model.rows = pyo.Constraint(range(300), rule=lambda m, r: sum(
        float(a) * m.x[int(j)] for j, a in zip(rng.choice(800, 40, replace=False), rng.random(40))) <= 5)
    model.value = pyo.Objective(expr=-sum(float(c) * model.x[j] for j, c in enumerate(rng.random(800))))
    solver = HighsSolver(model)
    highs = solver._solver._solver_model
    for _ in range(6):  # six cold solves: HiGHS's summed run time R is about six solves' time
        highs.clearSolver()
        assert solver.solve().status is Status.OPTIMAL
    model.extra = pyo.Constraint(expr=sum(model.x[j] for j in range(800)) <= 3)
    solver.add_constraints([model.extra])
    assert solver.solve(time_limit_s=highs.getRunTime() / 2).status is Status.OPTIMAL
