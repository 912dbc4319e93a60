"""A thin persistent wrapper around HiGHS through Pyomo's ``contrib.solver`` interface.

The model is loaded into HiGHS once; constraints added later (cutting planes) are passed with
:meth:`HighsSolver.add_constraints` and the next :meth:`HighsSolver.solve` restarts dual simplex
from the previous basis.  Pyomo's automatic change detection is switched off: the callers know
which rows they add, and the rescan of every component on each solve costs ~50 ms on a
grid3-sized model (10,000 rows) for nothing.

Choice of interface.  Pyomo 6.10 has two persistent HiGHS interfaces: ``appsi_highs``
(``pyomo.contrib.appsi``, superseded) and ``highs`` in ``pyomo.contrib.solver`` (the current
one).  Both keep one ``highspy.Highs`` object and add rows incrementally (``addRows``), so HiGHS
keeps its basis and the next solve is a warm dual simplex: on planar30, 15 rounds of ~150
tangent cuts took 544, 309, 209, ... 7, 2, 0 simplex iterations per re-solve with either
interface (a cold solve of the same LP takes ~4,000), 66–82 ms per round including Pyomo's
hand-over (appsi 66 ms, contrib.solver with manual ``add_constraints`` 79 ms, contrib.solver
with automatic change detection 82 ms; the differences are within the noise of a shared
machine).  ``contrib.solver`` is the maintained one and returns the two-enum result
(termination condition, solution status) with ``incumbent_objective``/``objective_bound`` and
iteration counts, so this module uses it, with manual updates.

Statuses are translated by the single table :data:`STATUS_OF_TERMINATION`; HiGHS's own model
status text is kept in :attr:`HighsOutcome.message`.

Time limit and Ctrl-C of a re-used HiGHS object: :mod:`topo_opt.algorithms.highs_runs`.  While
HiGHS runs, Ctrl-C asks it to stop (``cancelSolve``, which Pyomo's ``HandleKeyboardInterrupt``
turns into a user interrupt at the next callback); the solve then raises
:class:`~topo_opt.errors.SolveInterrupted` carrying the outcome, with the incumbent and the dual
bound HiGHS had.  Nothing is printed: HiGHS output is captured by Pyomo and dropped
(``output_flag`` off), progress goes to :mod:`logging`.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from topo_opt.algorithms.highs_runs import cancel_on_sigint, time_limit_option
from topo_opt.errors import SolveInterrupted, SolverUnavailableError, TopoOptError
from topo_opt.model.result import Status

logger = logging.getLogger(__name__)

#: The one table from Pyomo's termination condition to topo-opt's :class:`Status`.  ``None``
#: means HiGHS returned nothing usable, and :meth:`HighsSolver.solve` raises.
STATUS_OF_TERMINATION: dict[TerminationCondition, Status | None] = {
    TerminationCondition.convergenceCriteriaSatisfied: Status.OPTIMAL,
    TerminationCondition.maxTimeLimit: Status.TIME_LIMIT,
    TerminationCondition.iterationLimit: Status.ITERATION_LIMIT,
    TerminationCondition.provenInfeasible: Status.INFEASIBLE,
    TerminationCondition.locallyInfeasible: Status.INFEASIBLE,
    TerminationCondition.infeasibleOrUnbounded: None,
    TerminationCondition.unbounded: None,
    TerminationCondition.objectiveLimit: None,
    TerminationCondition.minStepLength: None,
    TerminationCondition.error: None,
    TerminationCondition.interrupted: Status.INTERRUPTED,
    TerminationCondition.licensingProblems: None,
    TerminationCondition.emptyModel: None,
    TerminationCondition.unknown: None,
}
#: Answers of HiGHS's presolve that a solve without presolve may turn into a usable one
PRESOLVE_UNDECIDED = frozenset({TerminationCondition.infeasibleOrUnbounded, TerminationCondition.unbounded})


class _InterruptWarningFilter(logging.Filter):
    """Drops Pyomo's warning about HiGHS's ``kInterrupt`` status, which :class:`HighsSolver`
    reports itself (as :class:`~topo_opt.errors.SolveInterrupted`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "kInterrupt" not in record.getMessage()


logging.getLogger("pyomo.contrib.solver.solvers.highs").addFilter(_InterruptWarningFilter())


def model_size(model: pyo.ConcreteModel) -> dict[str, int]:
    """Columns (variables) and rows (active constraints) of a Pyomo model."""
    return {"lp_columns": sum(1 for _ in model.component_data_objects(pyo.Var)),
            "lp_rows": sum(1 for _ in model.component_data_objects(pyo.Constraint, active=True))}


@dataclass(frozen=True)
class HighsOptions:
    """Solver options; ``None`` keeps HiGHS's default.

    Attributes
    ----------
    time_limit_s : float, optional
        Wall-clock limit of one :meth:`HighsSolver.solve` call, seconds.
    mip_rel_gap : float, optional
        Relative MIP gap at which branch and bound stops.
    presolve : bool, optional
    algorithm : {"choose", "simplex", "ipm", "pdlp"}
        HiGHS's ``solver`` option for LPs.  Interior point (with crossover, so that a basis is
        left for warm restarts) is several times faster than dual simplex on cold
        multicommodity LPs; simplex is the one that restarts warm.
    """

    time_limit_s: float | None = None
    mip_rel_gap: float | None = None
    presolve: bool | None = None
    algorithm: str = "choose"


@dataclass(frozen=True)
class HighsOutcome:
    """What one HiGHS run returned.

    ``objective`` is the objective of the solution HiGHS holds (NaN without one); ``bound`` a
    proven bound on the optimum (the LP optimum itself, or the MIP dual bound; −inf without one).
    """

    status: Status
    message: str
    objective: float
    bound: float
    simplex_iterations: int
    time_s: float  # wall clock of the call, including Pyomo's hand-over


class HighsSolver:
    """A Pyomo model held in HiGHS for repeated (warm) solves.

    Parameters
    ----------
    model : pyomo.environ.ConcreteModel
        A linear or mixed-integer linear model with one active objective.
    options : HighsOptions, optional

    Raises
    ------
    SolverUnavailableError
        When ``highspy`` is not installed.
    """

    def __init__(self, model: pyo.ConcreteModel, options: HighsOptions | None = None):
        self._solver = Highs()
        if not self._solver.available():  # Pyomo imports highspy lazily: missing shows here
            raise SolverUnavailableError("HiGHS is not available: install the 'highspy' package")
        self.model = model
        self.options = options or HighsOptions()
        updates = self._solver.config.auto_updates
        for name in ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                     "check_for_new_or_removed_params", "check_for_new_objective",
                     "update_constraints", "update_vars", "update_parameters",
                     "update_named_expressions", "update_objective"):
            setattr(updates, name, False)
        self._solver.set_instance(model)
        self._results = None
        self._integer = any(v.is_integer() for v in model.component_data_objects(pyo.Var))

    def add_constraints(self, constraints: Iterable) -> None:
        """Pass new constraint data (already on the model) to HiGHS, keeping the basis."""
        constraints = list(constraints)
        if constraints:
            self._solver.add_constraints(constraints)

    def set_start(self, values: dict) -> None:
        """Offer HiGHS a MIP start: for each indexed variable in ``values``, the values of its
        entries (in the order of its index set); the other columns are left for HiGHS to
        complete (it solves the LP with these fixed).  A start that is not feasible is ignored
        by HiGHS, so it can only help the incumbent."""
        columns = self._solver._pyomo_var_to_solver_var_map  # Pyomo exposes no MIP start here
        index = np.fromiter((columns[id(v)] for var in values for v in var.values()), dtype=np.int32)
        value = np.concatenate([np.asarray(x, dtype=np.float64) for x in values.values()])
        self._solver._solver_model.setSolution(len(index), index, value)

    def change_coefficients(self, var: pyo.Var, values: np.ndarray, row: Any = None) -> None:
        """Give the entries of the indexed variable ``var`` (in the order of its index set) the
        coefficients ``values`` in the objective, or in the constraint ``row`` (a constraint
        data object already in HiGHS), in HiGHS only: the Pyomo model keeps its own (a second
        problem on the same rows, e.g. a relaxation with other prices)."""
        columns = self._solver._pyomo_var_to_solver_var_map
        index = np.fromiter((columns[id(v)] for v in var.values()), dtype=np.int32)
        values = np.asarray(values, dtype=np.float64)
        highs = self._solver._solver_model
        if row is None:
            highs.changeColsCost(len(index), index, values)
            return
        position = self._solver._pyomo_con_to_solver_con_map[row]
        for column, value in zip(index.tolist(), values.tolist()):
            highs.changeCoeff(position, column, value)

    def change_bounds(self, var: pyo.Var, lower: np.ndarray, upper: np.ndarray) -> None:
        """Give the entries of the indexed variable ``var`` (in the order of its index set) the
        bounds ``lower`` ≤ x ≤ ``upper`` in HiGHS only (e.g. fix most of a MILP's binaries for
        a neighbourhood search); the Pyomo model keeps its own."""
        columns = self._solver._pyomo_var_to_solver_var_map
        index = np.fromiter((columns[id(v)] for v in var.values()), dtype=np.int32)
        self._solver._solver_model.changeColsBounds(len(index), index, np.asarray(lower, np.float64),
                                                    np.asarray(upper, np.float64))

    def solve(self, time_limit_s: float | None = None, algorithm: str | None = None,
              mip_rel_gap: float | None = None) -> HighsOutcome:
        """Run HiGHS (warm from the last basis) and translate its answer.

        Parameters
        ----------
        time_limit_s : float, optional
            Overrides ``options.time_limit_s`` for this call.
        algorithm : str, optional
            Overrides ``options.algorithm`` for this call.
        mip_rel_gap : float, optional
            Overrides ``options.mip_rel_gap`` for this call.

        Raises
        ------
        TopoOptError
            When HiGHS stops without a usable answer (unbounded, numerical error, ...); the
            message carries HiGHS's own model status.
        SolveInterrupted
            On Ctrl-C; ``partial`` is the :class:`HighsOutcome` (status ``INTERRUPTED``, the
            incumbent's objective or NaN, the dual bound), and :meth:`values` reads the
            incumbent when there is one.
        """
        opts = self.options
        limit = opts.time_limit_s if time_limit_s is None else time_limit_s
        # options persist in the HiGHS object between runs: the per-call ones are always set
        presolve = "choose" if opts.presolve is None else "on" if opts.presolve else "off"
        tick = time.perf_counter()
        highs = self._solver._solver_model  # HiGHS's own status text is not exposed by Pyomo

        def run(presolve: str):
            left = math.inf if limit is None else max(limit - (time.perf_counter() - tick), 0.0)
            with cancel_on_sigint(highs.cancelSolve) as received:
                results = self._solver.solve(
                    self.model, time_limit=time_limit_option(highs, left, self._integer),
                    rel_gap=opts.mip_rel_gap if mip_rel_gap is None else mip_rel_gap,
                    load_solutions=False, raise_exception_on_nonoptimal_result=False,
                    solver_options={"output_flag": False, "solver": algorithm or opts.algorithm,
                                    "presolve": presolve})
            return results, bool(received)

        results, received = run(presolve)
        if not received and presolve != "off" and results.termination_condition in PRESOLVE_UNDECIDED:
            # HiGHS's presolve can call a feasible problem "infeasible or unbounded" (seen on a
            # window of SNDlib atlanta's pure-cost design MILP, optimal without presolve); HiGHS's
            # documented remedy is to solve again without it, which decides
            logger.debug("HiGHS presolve: %s; solving again without presolve",
                         highs.modelStatusToString(highs.getModelStatus()))
            results, received = run("off")
        self._results = results
        message = highs.modelStatusToString(highs.getModelStatus())
        status = Status.INTERRUPTED if received else STATUS_OF_TERMINATION[results.termination_condition]
        if status is None:
            raise TopoOptError(f"HiGHS stopped without a usable answer: {message} "
                               f"({results.termination_condition.name})")
        objective = results.incumbent_objective
        bound = results.objective_bound
        outcome = HighsOutcome(
            status=status, message=message,
            objective=math.nan if objective is None else float(objective),
            bound=-math.inf if bound is None else float(bound),
            simplex_iterations=int(getattr(results.extra_info, "simplex_iteration_count", 0) or 0),
            time_s=time.perf_counter() - tick)
        logger.debug("HiGHS: %s, objective %.12g, %d simplex iterations, %.3f s", message,
                     outcome.objective, outcome.simplex_iterations, outcome.time_s)
        if status is Status.INTERRUPTED:
            raise SolveInterrupted(outcome)
        return outcome

    def values(self, var: pyo.Var) -> np.ndarray:
        """Values of an indexed variable in the order of its index set."""
        data = list(var.values())
        primal = self._results.solution_loader.get_vars(data)
        return np.fromiter((primal[v] for v in data), dtype=float, count=len(data))

    def duals(self, constraint: pyo.Constraint) -> np.ndarray:
        """Duals of an indexed constraint in the order of its index set (HiGHS sign convention)."""
        data = list(constraint.values())
        dual = self._results.solution_loader.get_duals(data)
        return np.fromiter((dual[c] for c in data), dtype=float, count=len(data))
