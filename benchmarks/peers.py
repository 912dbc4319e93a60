"""Peer solvers for min-delay routing, used by ``min_delay.py`` to measure topo-opt against.

Both peers solve the source-aggregated arc formulation of min-delay routing (Bertsekas and
Gallager, *Data Networks*, 2nd ed., §5.4), the way a Python user would write it::

    min  N(F) = Σ_q F_q/(C_q − F_q) + Σ_a c_a Σ_s x_sa        (Kleinrock 1964)
    s.t. A x_s = b_s,  x_s ≥ 0      for every source node s
         F = Q Σ_s x_s,  F < C

``x_s`` (one entry per arc) is the flow of all demands leaving source ``s``, ``b_s`` its supply
vector (+Σ_k r_k at ``s``, −r_k at the target of each demand k), ``A`` the node–arc incidence
(:attr:`Network.node_arc_incidence`), ``Q`` the arc → queue map and ``c_a = ρ d_a`` the fixed
(processing + propagation) delay cost.  ``N`` is in packets; the harness turns it into the
average delay ``T = N/γ``.

* :func:`solve_clarabel` -- cvxpy with the Clarabel interior-point conic solver at its default
  settings, ``F/(C − F) = −1 + C·inv_pos(C − F)`` as a DCP atom.
* :func:`solve_ipopt` -- Ipopt through cyipopt on the same formulation with the loads ``F`` as
  extra variables, so the Hessian is the diagonal ``2C/(C − F)³`` on ``F`` and the Jacobian is
  constant, both given to Ipopt as exact sparse structures.

Rates are divided by the largest queue capacity before they reach a solver, as any user would
do with bit/s data: ``N`` does not change (``F/(C − F)`` is homogeneous of degree 0) and the
flows are scaled back.  Plain flow deviation, the third peer, is
:func:`topo_opt.algorithms.flow_deviation.solve_min_delay_fd`, run by the harness like
topo-opt's own methods.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from topo_opt.evaluators.delay import DelayObjective
from topo_opt.model.network import Network

IPOPT_INFINITY = 2e19  # Ipopt reads bounds beyond 1e19 as infinite
IPOPT_STATUS = {  # Ipopt's ApplicationReturnStatus
    0: "Solve_Succeeded", 1: "Solved_To_Acceptable_Level", 2: "Infeasible_Problem_Detected",
    3: "Search_Direction_Becomes_Too_Small", 4: "Diverging_Iterates", 5: "User_Requested_Stop",
    6: "Feasible_Point_Found", -1: "Maximum_Iterations_Exceeded", -2: "Restoration_Failed",
    -3: "Error_In_Step_Computation", -4: "Maximum_CpuTime_Exceeded",
    -5: "Maximum_WallTime_Exceeded", -10: "Not_Enough_Degrees_Of_Freedom",
    -11: "Invalid_Problem_Definition", -12: "Invalid_Option", -13: "Invalid_Number_Detected",
    -100: "Unrecoverable_Exception", -101: "NonIpopt_Exception_Thrown",
    -102: "Insufficient_Memory", -199: "Internal_Error",
}


@dataclass(frozen=True)
class PeerResult:
    """What a peer returns.

    Attributes
    ----------
    method : str
    status : str
        The solver's own status text.
    converged : bool
        The solver claims convergence to its tolerances (cvxpy ``optimal``, Ipopt
        ``Solve_Succeeded``); ``inaccurate``/``acceptable`` answers are not converged.
    packets : float
        The objective the solver reports, ``N`` in packets (NaN without a solution).
    arc_flow : ndarray
        Aggregate arc flows in the network's rate unit (NaN without a solution).
    feasibility_residual : float
        Flow imbalance plus negative flow, summed, relative to the total demand.
    wall_time_s : float
        The whole call: model building, compilation and solve.
    compile_time_s, solver_time_s : float or None
        Parts of the wall time, when the tool reports them.
    iterations : int
    """

    method: str
    status: str
    converged: bool
    packets: float
    arc_flow: np.ndarray
    feasibility_residual: float
    wall_time_s: float
    compile_time_s: float | None
    solver_time_s: float | None
    iterations: int


@dataclass(frozen=True)
class ArcFormulation:
    """The arrays of the source-aggregated arc formulation, rates divided by ``rate_scale``."""

    incidence: sp.csr_matrix   # A: n_nodes × n_arcs
    arc_queue: sp.csr_matrix   # Q: n_queues × n_arcs, 1 where the arc feeds the queue
    supply: np.ndarray         # B: n_sources × n_nodes, row s is b_s
    capacity: np.ndarray       # C per queue
    linear_cost: np.ndarray    # c_a per arc, packets per (scaled) rate unit
    rate_scale: float          # rate unit per scaled unit

    @classmethod
    def of(cls, network: Network, include_fixed_delay: bool = True) -> "ArcFormulation":
        objective = DelayObjective.for_network(network, include_fixed_delay=include_fixed_delay)
        scale = float(objective.queue_capacity.max())
        sources, row = np.unique(network.demand_source, return_inverse=True)
        supply = np.zeros((len(sources), network.n_nodes))
        np.add.at(supply, (row, network.demand_source), network.demand_rate)
        np.add.at(supply, (row, network.demand_target), -network.demand_rate)
        arcs = np.arange(network.n_arcs)
        arc_queue = sp.csr_matrix((np.ones(network.n_arcs), (network.arc_queue, arcs)),
                                  shape=(network.n_queues, network.n_arcs))
        return cls(network.node_arc_incidence, arc_queue, supply / scale,
                   objective.queue_capacity / scale, objective.arc_linear_cost * scale, scale)

    @property
    def n_sources(self) -> int:
        return self.supply.shape[0]

    @property
    def n_arcs(self) -> int:
        return self.incidence.shape[1]

    def residual(self, source_flow: np.ndarray) -> float:
        """Σ|A x_s − b_s| + Σ max(0, −x_sa), relative to the total demand Σ_k r_k.

        Summed, not maximal: thousands of flows at −1e-9 each shift the delay as much as one
        imbalance of their sum.
        """
        imbalance = np.abs(source_flow @ self.incidence.T - self.supply).sum()
        negative = np.clip(-source_flow, 0.0, None).sum()
        return float((imbalance + negative) / self.supply.clip(min=0).sum())

    def result(self, method: str, status: str, converged: bool, packets: float,
               source_flow: np.ndarray | None, wall_time_s: float, compile_time_s: float | None,
               solver_time_s: float | None, iterations: int) -> PeerResult:
        """A :class:`PeerResult` with the flows scaled back to the network's rate unit."""
        if source_flow is None:
            flow, residual = np.full(self.n_arcs, np.nan), np.nan
        else:
            flow, residual = source_flow.sum(axis=0) * self.rate_scale, self.residual(source_flow)
        return PeerResult(method, status, converged, packets, flow, residual, wall_time_s,
                          compile_time_s, solver_time_s, iterations)


def solve_clarabel(network: Network, *, include_fixed_delay: bool = True,
                   time_limit_s: float | None = None) -> PeerResult:
    """cvxpy + Clarabel at default settings on the arc formulation.

    ``F/(C − F)`` is written ``−1 + C·inv_pos(C − F)`` so that cvxpy's DCP rules accept it.
    The wall time covers building the cvxpy problem, its compilation and Clarabel's solve.
    ``time_limit_s`` is checked by Clarabel between iterations; a stopped run reports cvxpy's
    ``user_limit`` status.
    """
    import cvxpy as cp

    start = time.perf_counter()
    form = ArcFormulation.of(network, include_fixed_delay)
    flow = cp.Variable((form.n_sources, form.n_arcs), nonneg=True)
    arc_flow = cp.Variable(form.n_arcs)  # a variable, not an expression: Clarabel is faster
    load = form.arc_queue @ arc_flow
    capacity = form.capacity
    packets = cp.sum(cp.multiply(capacity, cp.inv_pos(capacity - load))) - len(capacity)
    problem = cp.Problem(cp.Minimize(packets + form.linear_cost @ arc_flow),
                         [flow @ form.incidence.T == form.supply, arc_flow == cp.sum(flow, axis=0)])
    options = {} if time_limit_s is None else {"time_limit": float(time_limit_s)}
    problem.solve(solver=cp.CLARABEL, **options)
    wall = time.perf_counter() - start
    stats = problem.solver_stats
    return form.result("clarabel", problem.status, problem.status == cp.OPTIMAL,
                       np.nan if problem.value is None else float(problem.value), flow.value, wall,
                       problem.compilation_time, stats.solve_time, stats.num_iters or 0)


class _IpoptArcProblem:
    """cyipopt callbacks for the arc formulation; variables ``(x_1, …, x_S, F)``.

    One balance row per source is dropped (the rows of ``A`` sum to zero, and Ipopt's linear
    algebra prefers a full-rank Jacobian).  A point with a saturated queue is an evaluation error,
    so that Ipopt shortens the step instead of reading a negative delay.
    """

    def __init__(self, form: ArcFormulation, evaluation_error: type[Exception]):
        self.evaluation_error = evaluation_error
        n_sources, n_queues = form.n_sources, len(form.capacity)
        self.n_x = n_sources * form.n_arcs
        self.capacity = form.capacity
        self.linear_cost = np.tile(form.linear_cost, n_sources)
        balance = sp.kron(sp.eye(n_sources), form.incidence[1:])
        linking = sp.hstack([-form.arc_queue] * n_sources + [sp.eye(n_queues)])
        no_load = sp.csr_matrix((balance.shape[0], n_queues))
        jacobian = sp.vstack([sp.hstack([balance, no_load]), linking])
        self.jacobian_matrix = jacobian.tocsr()
        coo = self.jacobian_matrix.tocoo()
        self.jacobian_rows, self.jacobian_cols = coo.row, coo.col
        self.constraint_rhs = np.concatenate([form.supply[:, 1:].ravel(), np.zeros(n_queues)])
        self.hessian_index = np.arange(self.n_x, self.n_x + n_queues)
        self.iterations = 0

    def _slack(self, x: np.ndarray) -> np.ndarray:
        slack = self.capacity - x[self.n_x:]
        if np.any(slack <= 0):
            raise self.evaluation_error("a queue is saturated")
        return slack

    def objective(self, x: np.ndarray) -> float:
        load = x[self.n_x:]
        return float(np.sum(load / self._slack(x)) + self.linear_cost @ x[:self.n_x])

    def gradient(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([self.linear_cost, self.capacity / self._slack(x) ** 2])

    def constraints(self, x: np.ndarray) -> np.ndarray:
        return self.jacobian_matrix @ x

    def jacobianstructure(self) -> tuple[np.ndarray, np.ndarray]:
        return self.jacobian_rows, self.jacobian_cols

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        return self.jacobian_matrix.data  # CSR order equals the COO order of the structure

    def hessianstructure(self) -> tuple[np.ndarray, np.ndarray]:
        return self.hessian_index, self.hessian_index

    def hessian(self, x: np.ndarray, multipliers: np.ndarray, obj_factor: float) -> np.ndarray:
        return obj_factor * 2.0 * self.capacity / self._slack(x) ** 3

    def intermediate(self, alg_mod, iter_count, *args) -> None:
        self.iterations = int(iter_count)


def solve_ipopt(network: Network, *, include_fixed_delay: bool = True,
                time_limit_s: float | None = None, tol: float = 1e-8,
                bound_relax_factor: float = 1e-8) -> PeerResult:
    """Ipopt (cyipopt, MUMPS) on the arc formulation; ``tol`` and ``bound_relax_factor``
    default to Ipopt's own defaults.

    Ipopt relaxes every bound by ``bound_relax_factor``·max(1, |bound|) before it solves, so at
    its defaults flows converge to about −1e-8 (scaled units) where they should be 0, and the
    reported delay can fall below the true optimum; ``bound_relax_factor=0`` keeps the bounds.
    Starts from zero flows with every queue half loaded, a point that violates conservation:
    Ipopt handles infeasible starts.
    """
    import cyipopt

    start = time.perf_counter()
    form = ArcFormulation.of(network, include_fixed_delay)
    callbacks = _IpoptArcProblem(form, cyipopt.CyIpoptEvaluationError)
    n_queues = len(form.capacity)
    problem = cyipopt.Problem(
        n=callbacks.n_x + n_queues, m=len(callbacks.constraint_rhs), problem_obj=callbacks,
        lb=np.zeros(callbacks.n_x + n_queues),
        ub=np.concatenate([np.full(callbacks.n_x, IPOPT_INFINITY), form.capacity]),
        cl=callbacks.constraint_rhs, cu=callbacks.constraint_rhs)
    problem.add_option("print_level", 0)
    problem.add_option("sb", "yes")
    problem.add_option("tol", float(tol))
    problem.add_option("bound_relax_factor", float(bound_relax_factor))
    if time_limit_s is not None:
        problem.add_option("max_wall_time", float(time_limit_s))
    x0 = np.concatenate([np.zeros(callbacks.n_x), form.capacity / 2])
    solve_start = time.perf_counter()
    x, info = problem.solve(x0)
    end = time.perf_counter()
    source_flow = x[:callbacks.n_x].reshape(form.n_sources, form.n_arcs)
    return form.result(f"ipopt(tol={tol:g}, bound_relax_factor={bound_relax_factor:g})",
                       IPOPT_STATUS.get(info["status"], str(info["status"])), info["status"] == 0,
                       float(info["obj_val"]), source_flow, end - start, solve_start - start,
                       end - solve_start, callbacks.iterations)
