"""Running one HiGHS object more than once: its time limit, and Ctrl-C while it runs.

Used by the Pyomo-held models of :mod:`topo_opt.solve.highs` and by the column-generation
master of :mod:`topo_opt.algorithms.max_concurrent_flow`, which holds HiGHS directly.

Time limit.  An LP solve compares HiGHS's ``time_limit`` with its run time summed over every run
of the object (HiGHS issues 1331 and 1477, to change in 2.0; highspy 1.16 has no
``zeroAllClocks``), so the limit of a re-used object is offset by the time already run
(:func:`time_limit_option`).  The MIP solver starts its own clock at each run (seen with HiGHS
1.16: an offset MILP overran), so a MILP's limit is not offset.

Ctrl-C.  Python's default SIGINT handler raises ``KeyboardInterrupt`` inside a HiGHS callback,
which HiGHS reports as a solve *error* (no incumbent, no bound), or, without callbacks, only
once the run is over.  While HiGHS runs, :func:`cancel_on_sigint` replaces it with one that asks
HiGHS to stop at its next interrupt callback; the caller sees the signal in the list it yields.
highspy's ``Highs`` class has ``cancelSolve`` for that; a core object gets one from
:func:`interrupt_callback`.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Callable, Iterator


def time_limit_option(highs, time_limit_s: float, integer: bool = False) -> float:
    """The ``time_limit`` option (s) that gives the next run of ``highs`` ``time_limit_s`` seconds:
    offset by HiGHS's run time so far for an LP, not for a MILP (module docstring)."""
    return time_limit_s if integer else highs.getRunTime() + time_limit_s


def interrupt_callback(highs) -> Callable[[], None]:
    """Install on the highspy core object ``highs`` (``highspy._core._Highs``) an interrupt
    callback of the simplex, interior-point and MIP solvers; returns the function that makes
    the next one stop the run (what ``highspy.Highs.cancelSolve`` does for the Python class)."""
    from highspy import cb

    stop = [False]

    def callback(callback_type, message, data_out, data_in, user_data) -> None:
        if stop[0] and data_in is not None:
            data_in.user_interrupt = True

    highs.setCallback(callback, None)
    for kind in (cb.HighsCallbackType.kCallbackSimplexInterrupt, cb.HighsCallbackType.kCallbackIpmInterrupt,
                 cb.HighsCallbackType.kCallbackMipInterrupt):
        highs.startCallback(kind)
    return lambda: stop.__setitem__(0, True)


@contextmanager
def cancel_on_sigint(cancel: Callable[[], None]) -> Iterator[list[int]]:
    """While active, Ctrl-C calls ``cancel()`` (which asks HiGHS to stop) instead of raising;
    yields the list of signals received.  Left alone off the main thread or when SIGINT is not
    Python's default handler (ignored in batch workers, or handled by the caller)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield received
        return

    def on_sigint(signum, frame) -> None:
        received.append(signum)
        cancel()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)
