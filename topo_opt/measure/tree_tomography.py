"""Delay tomography on trees: per-link queueing-delay distributions from end-to-end probe delays.

A source (the tree's root) sends back-to-back trains, one packet to every receiver (leaf); the
packets of a train share the delay of the links they have in common, so the end-to-end delay of
receiver r in train t is ``Y_rt = Σ_{links l on the path to r} X_lt`` with independent link
delays ``X_lt ~ p_l``.  Delays are discretised to bins of width q (``X = q · k``, k = 0..M) and
the pmfs ``p_l`` estimated by maximum likelihood with EM:

* E-step, per train and all trains at once: an **upward pass** computes
  ``β_v(d) = P(observations below v | D_v = d)`` (``D_v`` the cumulative delay from the root to
  node v; a leaf's β is the indicator of its observed delay) through
  ``β̃_c(d) = Σ_x p_c(x) β_c(d + x)`` and ``β_v = Π_children β̃_c``; a **downward pass** gives
  the outside message ``γ_c(d) = α_v(d) Π_{siblings c'} β̃_{c'}(d)`` and
  ``α_c(d') = Σ_d γ_c(d) p_c(d' − d)``.  The posterior of link c's delay is
  ``P(X_c = x | Y_t) ∝ p_c(x) Σ_d γ_c(d) β_c(d + x)``.  Each message is a correlation or
  convolution over the M+1 bins (``einsum`` over sliding windows of all trains; small matrix
  products would spend their time in BLAS threading on a loaded machine): one iteration costs
  O(links × trains × bins²), linear in the number of receivers, never a sum over the
  combinations of link delays.
* M-step: ``p_c(x) = (1/T) Σ_t P(X_c = x | Y_t)``.

The bin width starts coarse (``bins / 2^(levels−1)`` bins over the delay range) and is halved
``levels − 1`` times, each level started from the previous one's pmfs (spread over the finer
bins, mixed with 10⁻³ of a uniform pmf so that no bin starts at zero probability).

Per link the result gives mean, standard deviation, P(X = 0) (the first bin) and a Weibull fit
``P(X > x | X > 0) = exp(−b x^a)`` to the positive part (straight line of ``log(−log S)``
against ``log x``, :func:`scipy.stats.linregress`); a link whose mean delay is below one bin
width is flagged ``below_resolution``.  With a capacity and load given for a link, the M/M/1
waiting time ``P(W > x) = ρ exp(−(μ − λ) x)``, mean ``ρ/(μ − λ)``, is reported next to it.

A link into a node with a single child is in series with the next one: only their sum is
identifiable, and both are flagged ``identifiable: false``.

References
----------
Lo Presti, Duffield, Horowitz, Towsley, *Multicast-based inference of network-internal delay
distributions*, IEEE/ACM ToN 10(6), 2002.
Coates, Nowak, *Network tomography for internal delay estimation*, ICASSP 2001.
Liang, Yu, *Maximum pseudo likelihood estimation in network tomography*, IEEE TSP 51(8), 2003.
"""
from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import read_text

TREE_FORMAT = "topo-opt/probe-tree"
DELAYS_FORMAT = "topo-opt/link-delays"
UNIFORM_MIX = 1e-3


@dataclass(frozen=True)
class ProbeTree:
    """A validated tree: ``links[i]`` goes from node ``parent[i]`` to node ``child[i]``.

    ``order`` lists link indices parents first; ``receivers`` are the leaf node ids (in file
    order of their links); ``capacity_bps`` and ``load_bps`` (NaN when absent) allow the M/M/1
    comparison with packets of ``packet_length_bits``.
    """

    root: str
    links: tuple[str, ...]
    parent: tuple[str, ...]
    child: tuple[str, ...]
    capacity_bps: np.ndarray
    load_bps: np.ndarray
    packet_length_bits: float = 8000.0

    @property
    def link_of_child(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.child)}

    @property
    def children(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for i, p in enumerate(self.parent):
            out.setdefault(p, []).append(i)
        return out

    @property
    def receivers(self) -> tuple[str, ...]:
        kids = self.children
        return tuple(c for c in self.child if c not in kids)

    @property
    def order(self) -> list[int]:
        kids, out, queue = self.children, [], [self.root]
        while queue:
            node = queue.pop(0)
            for i in kids.get(node, []):
                out.append(i)
                queue.append(self.child[i])
        return out

    @property
    def identifiable(self) -> np.ndarray:
        """False for a link into, or out of, a non-root node with exactly one child."""
        kids = self.children
        ok = np.ones(len(self.links), bool)
        for node, links in kids.items():
            if node != self.root and len(links) == 1:
                ok[links[0]] = False
                ok[self.link_of_child[node]] = False
        return ok


def read_tree(path: str | Path) -> ProbeTree:
    """Read a tree file (JSON)::

        {"format": "topo-opt/probe-tree", "version": 1, "root": "S", "packet_length_bits": 12000,
         "links": [{"id": "l0", "parent": "S", "child": "a", "capacity_bps": 1e8, "load_bps": 6e7}, ...]}

    Raises
    ------
    InvalidInputError
        Not such a file, or not a tree: a node with two parents, a cycle, a link not reachable
        from the root, the root as a child, duplicate ids.
    """
    path = Path(path)
    try:
        doc = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{path}:{exc.lineno}: not a JSON tree file: {exc.msg}") from None
    if not isinstance(doc, dict) or doc.get("format") != TREE_FORMAT:
        raise InvalidInputError(f"{path}: not a probe-tree file (format must be {TREE_FORMAT!r})")
    links = doc.get("links")
    if not isinstance(links, list) or not links:
        raise InvalidInputError(f"{path}: 'links' must be a non-empty list")
    ids, parents, children, cap, load = [], [], [], [], []
    for i, link in enumerate(links):
        if not isinstance(link, dict) or not all(isinstance(link.get(k), str) for k in ("id", "parent", "child")):
            raise InvalidInputError(f"{path}: link #{i + 1} needs string 'id', 'parent' and 'child'")
        unknown = set(link) - {"id", "parent", "child", "capacity_bps", "load_bps"}
        if unknown:
            raise InvalidInputError(f"{path}: link {link['id']!r}: unknown key {sorted(unknown)[0]!r}")
        ids.append(link["id"])
        parents.append(link["parent"])
        children.append(link["child"])
        values = []
        for key in ("capacity_bps", "load_bps"):
            value = link.get(key)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise InvalidInputError(f"{path}: link {link['id']!r}: {key} must be a number >= 0, got {value!r}")
            values.append(math.nan if value is None else float(value))
        cap.append(values[0])
        load.append(values[1])
    length = doc.get("packet_length_bits", 8000.0)
    if not (isinstance(length, (int, float)) and length > 0):
        raise InvalidInputError(f"{path}: packet_length_bits must be > 0, got {length!r}")
    tree = ProbeTree(doc.get("root", ""), tuple(ids), tuple(parents), tuple(children), np.array(cap),
                     np.array(load), float(length))
    check_tree(tree, str(path))
    return tree


def check_tree(tree: ProbeTree, source: str = "tree") -> None:
    """Raise :class:`InvalidInputError` unless the links form a tree hanging from ``root``."""
    if not tree.root or not isinstance(tree.root, str):
        raise InvalidInputError(f"{source}: not a tree: 'root' must name a node")
    seen: set[str] = set()
    for link_id in tree.links:
        if link_id in seen:
            raise InvalidInputError(f"{source}: duplicate link id {link_id!r}")
        seen.add(link_id)
    parent_of: dict[str, str] = {}
    for link_id, p, c in zip(tree.links, tree.parent, tree.child):
        if c == tree.root:
            raise InvalidInputError(f"{source}: not a tree: link {link_id!r} enters the root {tree.root!r}")
        if c in parent_of:
            raise InvalidInputError(f"{source}: not a tree: node {c!r} has two parents "
                                    f"({parent_of[c]!r} and {p!r})")
        parent_of[c] = p
    reached = {tree.link_of_child[tree.child[i]] for i in tree.order}
    if len(reached) != len(tree.links):
        stray = next(tree.links[i] for i in range(len(tree.links)) if i not in reached)
        raise InvalidInputError(f"{source}: not a tree: link {stray!r} is not reachable from the root "
                                f"{tree.root!r} (a cycle or a second component)")


def read_probes(path: str | Path, tree: ProbeTree) -> tuple[np.ndarray, int]:
    """Delays (trains × receivers, s) from ``train,receiver,delay_s`` rows, and the number of
    incomplete trains dropped (a train needs one packet for every receiver)."""
    path = Path(path)
    reader = csv.DictReader(io.StringIO(read_text(path)))
    for name in ("train", "receiver", "delay_s"):
        if name not in (reader.fieldnames or []):
            raise InvalidInputError(f"{path}:1: missing column {name!r} (expected train,receiver,delay_s)")
    column = {r: i for i, r in enumerate(tree.receivers)}
    trains: dict[str, np.ndarray] = {}
    for row in reader:
        where = f"{path}:{reader.line_num}"
        receiver = row["receiver"]
        if receiver not in column:
            what = "an inner node" if receiver in tree.child or receiver == tree.root else "not in the tree"
            raise InvalidInputError(f"{where}: receiver {receiver!r} is {what}; receivers are the leaves")
        try:
            delay = float(row["delay_s"])
        except (TypeError, ValueError):
            raise InvalidInputError(f"{where}: delay_s must be a number, got {row['delay_s']!r}") from None
        if not (math.isfinite(delay) and delay >= 0):
            raise InvalidInputError(f"{where}: delay_s must be a finite number >= 0, got {row['delay_s']!r}")
        values = trains.setdefault(row["train"], np.full(len(column), np.nan))
        if not math.isnan(values[column[receiver]]):
            raise InvalidInputError(f"{where}: train {row['train']!r} has two packets for {receiver!r}")
        values[column[receiver]] = delay
    complete = [v for v in trains.values() if np.all(np.isfinite(v))]
    if not complete:
        raise InvalidInputError(f"{path}: no train reaches every receiver")
    return np.vstack(complete), len(trains) - len(complete)


# --------------------------------------------------------------------------- EM
@dataclass(frozen=True)
class EMResult:
    """Per-link pmfs ``pmf[l, k]`` = P(X_l = k · bin_s), the log-likelihood per level, iterations."""

    pmf: np.ndarray
    bin_s: float
    loglik: tuple[float, ...]
    iterations: tuple[int, ...]
    offsets_s: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _windows(rows: np.ndarray, left: bool) -> np.ndarray:
    """Read-only view ``w[t, d, k]`` = ``rows[t, d + k]`` (zero past the end), or with ``left``
    ``rows[t, d + k − (M)]`` (zero before the start), M + 1 the number of bins."""
    size = rows.shape[1]
    zeros = np.zeros((rows.shape[0], size - 1))
    padded = np.concatenate([zeros, rows] if left else [rows, zeros], axis=1)
    return sliding_window_view(padded, size, axis=1)


def _correlate(windows: np.ndarray, p: np.ndarray) -> np.ndarray:
    """β̃(d) = Σ_x p(x) β(d + x) for every row (train) of β, from β's right windows."""
    return np.einsum("tdx,x->td", windows, p)


def _convolve(gamma: np.ndarray, p: np.ndarray) -> np.ndarray:
    """α(d') = Σ_x p(x) γ(d' − x), cut at the grid's end, for every row of γ."""
    return np.einsum("tdk,k->td", _windows(gamma, left=True), p[::-1])


def _lag_sums(gamma: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """S(x) = Σ_t Σ_d γ_t(d) β_t(d + x) for every lag x, from β's right windows."""
    return np.einsum("td,tdx->x", gamma, windows)


def em_step(tree: ProbeTree, y: np.ndarray, pmf: np.ndarray) -> tuple[np.ndarray, float]:
    """One EM iteration: (new pmfs, log-likelihood of ``pmf``) for bin indices ``y`` (trains × receivers)."""
    n_trains, size = y.shape[0], pmf.shape[1]
    order, kids = tree.order, tree.children
    receiver_col = {r: i for i, r in enumerate(tree.receivers)}
    beta: dict[int, np.ndarray] = {}
    beta_up: dict[int, np.ndarray] = {}  # β̃ of each link, as seen from its parent
    log_scale: dict[str, np.ndarray] = {}

    def node_beta(node: str) -> tuple[np.ndarray, np.ndarray]:
        out, scale = np.ones((n_trains, size)), np.zeros(n_trains)
        for i in kids.get(node, []):
            out *= beta_up[i]
            scale += log_scale[tree.child[i]]
        top = out.max(axis=1)
        top[top <= 0] = 1.0
        return out / top[:, None], scale + np.log(top)

    for i in reversed(order):  # upward
        node = tree.child[i]
        if node in receiver_col:
            b = np.zeros((n_trains, size))
            b[np.arange(n_trains), y[:, receiver_col[node]]] = 1.0
            beta[i], log_scale[node] = b, np.zeros(n_trains)
        else:
            beta[i], log_scale[node] = node_beta(node)
        beta[i] = _windows(beta[i], left=False)  # only ever used through these windows
        beta_up[i] = _correlate(beta[i], pmf[i])
    root_beta, root_scale = node_beta(tree.root)
    with np.errstate(divide="ignore"):
        loglik = float(np.sum(np.log(root_beta[:, 0]) + root_scale))
    alpha = {tree.root: np.zeros((n_trains, size))}
    alpha[tree.root][:, 0] = 1.0
    new = np.empty_like(pmf)
    for node in [tree.root] + [tree.child[i] for i in order]:  # downward
        links = kids.get(node, [])
        if not links:
            continue
        prefix = [np.ones((n_trains, size))]
        for i in links[:-1]:
            prefix.append(prefix[-1] * beta_up[i])
        suffix = np.ones((n_trains, size))
        for pos in range(len(links) - 1, -1, -1):
            i = links[pos]
            gamma = alpha[node] * prefix[pos] * suffix
            suffix = suffix * beta_up[i]
            z = np.sum(gamma * beta_up[i], axis=1)
            z[z <= 0] = 1.0
            gamma = gamma / z[:, None]
            counts = _lag_sums(gamma, beta[i]) * pmf[i]
            new[i] = counts / max(counts.sum(), np.finfo(float).tiny)
            child_alpha = _convolve(gamma, pmf[i])
            top = child_alpha.max(axis=1)
            top[top <= 0] = 1.0
            alpha[tree.child[i]] = child_alpha / top[:, None]
    return new, loglik


def fit_em(tree: ProbeTree, delays_s: np.ndarray, bins: int = 32, levels: int = 3, max_iter: int = 200,
           tol: float = 1e-6, subtract_min: bool = True, bin_s: float | None = None) -> EMResult:
    """EM estimate of every link's delay pmf from end-to-end ``delays_s`` (trains × receivers).

    Parameters
    ----------
    bins : int
        Bins over the largest (offset-corrected) delay at the finest level: bin width
        ``q = max delay / bins`` (unless ``bin_s`` is given).
    levels : int
        Bin-width levels: ``2^(levels−1) q`` first, halving the width each level.
    tol : float
        Stop a level when the log-likelihood per train improves by less than this.
    subtract_min : bool
        Subtract each receiver's smallest delay first (propagation and transmission, which the
        queueing model does not describe); the offsets are returned.
    bin_s : float, optional
        The finest bin width q (s) instead of ``max delay / bins``.
    """
    if levels < 1 or (bin_s is None and bins < 2):
        raise InvalidInputError(f"need bins >= 2 and levels >= 1; got bins={bins}, levels={levels}")
    delays = np.asarray(delays_s, float)
    offsets = delays.min(axis=0) if subtract_min else np.zeros(delays.shape[1])
    delays = delays - offsets
    top = float(delays.max())
    if top <= 0:
        raise InvalidInputError("every probe has the same delay: nothing to infer")
    finest = top / bins if bin_s is None else float(bin_s)
    if not (math.isfinite(finest) and finest > 0):
        raise InvalidInputError(f"bin width must be > 0 s, got {bin_s!r}")
    n_links = len(tree.links)
    pmf = None
    logliks, iterations = [], []
    for level in range(levels):
        q = finest * 2 ** (levels - 1 - level)
        y = np.rint(delays / q).astype(np.int64)
        size = int(y.max()) + 1
        if pmf is None:
            start = np.exp(-np.arange(size) / max(size / 8, 1.0))
            pmf = np.tile(start / start.sum(), (n_links, 1))
        else:
            finer = np.repeat(pmf, 2, axis=1)[:, :size]
            if finer.shape[1] < size:
                finer = np.pad(finer, ((0, 0), (0, size - finer.shape[1])))
            pmf = (1 - UNIFORM_MIX) * finer / finer.sum(axis=1, keepdims=True) + UNIFORM_MIX / size
        previous = -math.inf
        for it in range(1, max_iter + 1):
            pmf, loglik = em_step(tree, y, pmf)
            if loglik - previous < tol * y.shape[0]:
                break
            previous = loglik
        logliks.append(loglik)
        iterations.append(it)
    return EMResult(pmf, q, tuple(logliks), tuple(iterations), offsets)


# --------------------------------------------------------------------------- summaries
def weibull_fit(pmf: np.ndarray, bin_s: float) -> dict | None:
    """Fit P(X > x | X > 0) = exp(−b x^a) to the positive bins of a pmf (None if < 2 usable points).

    "X > 0" is "X in bin 1 or above" (bin 0 holds delays below q/2).  Points: the conditional
    survival ``S_k = Σ_{j>k} p_j / Σ_{j>=1} p_j`` at the upper bin edges ``(k + 1/2) q``, k >= 1,
    where it lies in (10⁻⁴, 1); line ``log(−log S) = log b + a log x`` by
    :func:`scipy.stats.linregress`.
    Returns a, b (s^−a), r² and the largest survival error over the bins.
    """
    from scipy import stats

    positive = pmf[1:]
    mass = positive.sum()
    if mass <= 0:
        return None
    survival = 1.0 - np.cumsum(positive) / mass  # at edges (k + 1/2) q, k = 1..
    edges = (np.arange(1, pmf.size) + 0.5) * bin_s
    use = (survival > 1e-4) & (survival < 1 - 1e-9)
    if use.sum() < 2:
        return None
    fit = stats.linregress(np.log(edges[use]), np.log(-np.log(survival[use])))
    a, b = float(fit.slope), float(math.exp(fit.intercept))
    model = np.exp(-b * edges ** a)
    return {"a": a, "b": b, "r2": float(fit.rvalue ** 2), "max_abs_error": float(np.max(np.abs(model - survival)))}


def mm1_wait(capacity_bps: float, load_bps: float, packet_length_bits: float) -> dict | None:
    """M/M/1 waiting time: mean ρ/(μ − λ), P(W = 0) = 1 − ρ, P(W > x) = ρ e^{−(μ−λ)x}; None if unknown."""
    if not (math.isfinite(capacity_bps) and math.isfinite(load_bps)) or capacity_bps <= 0:
        return None
    mu, lam = capacity_bps / packet_length_bits, load_bps / packet_length_bits
    rho = lam / mu
    if rho >= 1:
        return {"utilization": rho, "saturated": True, "mean_wait_s": None}
    return {"utilization": rho, "saturated": False, "mean_wait_s": rho / (mu - lam),
            "p_zero": 1 - rho, "decay_rate_per_s": mu - lam}


def link_models(tree: ProbeTree, result: EMResult) -> list[dict]:
    """Per link: mean and std (s), P(X = 0), Weibull fit, flags, M/M/1 prediction, the pmf."""
    x = np.arange(result.pmf.shape[1]) * result.bin_s
    identifiable = tree.identifiable
    out = []
    for i, link_id in enumerate(tree.links):
        p = result.pmf[i]
        mean = float(p @ x)
        std = float(math.sqrt(max(p @ x ** 2 - mean ** 2, 0.0)))
        record = {"id": link_id, "parent": tree.parent[i], "child": tree.child[i], "mean_s": mean, "std_s": std,
                  "p_zero": float(p[0]), "weibull": weibull_fit(p, result.bin_s),
                  "below_resolution": mean < result.bin_s, "identifiable": bool(identifiable[i])}
        mm1 = mm1_wait(tree.capacity_bps[i], tree.load_bps[i], tree.packet_length_bits)
        if mm1 is not None:
            record["mm1"] = mm1
        record["pmf"] = p.tolist()
        out.append(record)
    return out


def delays_document(tree: ProbeTree, result: EMResult, models: list[dict], options: dict) -> dict:
    """The ``topo-opt/link-delays`` JSON document."""
    return {"format": DELAYS_FORMAT, "version": 1, "units": {"delay": "s"}, "root": tree.root,
            "bin_s": result.bin_s, "options": options,
            "em": {"loglik_per_level": list(result.loglik), "iterations_per_level": list(result.iterations)},
            "fixed_delay_s": dict(zip(tree.receivers, result.offsets_s.tolist())), "links": models}
