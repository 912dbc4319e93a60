"""Exceptions raised by topo-opt.

Three kinds of failure are kept apart, as in networkx and scipy.optimize:

* :class:`InvalidInputError` -- the input is wrong (a file, a field, a value).  The message
  names the file, line or element and shows the offending value with its unit.
* :class:`InfeasibleError` -- the input is well formed but the problem has no solution;
  ``reason`` says why (e.g. the saturated cut).
* :class:`SolverUnavailableError` -- an optional solver or package is missing.

The CLI maps every :class:`TopoOptError` to exit code 2 and one line on stderr.
"""
from __future__ import annotations


def id_list(ids: list[str], shown: int = 5) -> str:
    """The first ``shown`` ids of a one-line message, quoted, then "(+N more)"."""
    return ", ".join(repr(i) for i in ids[:shown]) + (f" (+{len(ids) - shown} more)" if len(ids) > shown else "")


class TopoOptError(Exception):
    """Base class of every error topo-opt raises on purpose."""


class InvalidInputError(TopoOptError, ValueError):
    """Malformed or inconsistent input: the message names where and what."""


class InfeasibleError(TopoOptError):
    """The problem has no feasible solution.

    Parameters
    ----------
    message : str
        One line saying why.
    details : dict, optional
        Machine-readable evidence (saturated links, blocked demand, cut value).
    """

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.details = details or {}


class SolverUnavailableError(TopoOptError):
    """A solver or optional dependency needed for the request is not installed."""


class SolveInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) during a solve or a sweep, carrying what was finished.

    A :class:`KeyboardInterrupt`, so that code that does not know it stops as on any Ctrl-C; the
    CLI writes ``partial`` and exits with code 130.

    Parameters
    ----------
    partial : object, optional
        The best answer so far: a :class:`~topo_opt.model.result.SolveResult` with status
        ``interrupted`` (best design and its proven bound), a HiGHS outcome, or a sweep's
        finished records; None when nothing usable exists yet.
    """

    def __init__(self, partial=None):
        super().__init__("interrupted")
        self.partial = partial
