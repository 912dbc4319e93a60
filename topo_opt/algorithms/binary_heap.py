"""Binary min-heap on two parallel arrays (keys, ids), for compiled (numba) loops.

The heap holds ``n`` entries in ``key[:n]``, ``ident[:n]`` with ``key[(i − 1) // 2] ≤ key[i]``;
the caller owns the arrays and the count.  Used by the Dijkstra of path equilibration
(:mod:`topo_opt.algorithms.equilibration_kernel`) and by the packet simulator's event loop
(:mod:`topo_opt.simulation.engine`), which may import ``algorithms`` (the layers of the
README's architecture section), so the helper lives here.  Both functions are inlined into their
callers, so the loops pay no call.  numba's cache of a caller does not notice an edit of this
file (numba checks only the caller's own source file): after changing it, delete the
``__pycache__/*.nbi``/``*.nbc`` files of both callers, or touch them.

Reference: R. Sedgewick, K. Wayne, *Algorithms*, 4th ed., Addison-Wesley 2011, §2.4.
"""
from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def heap_push(key, ident, n, k, i):
    """Add entry (``k``, ``i``) to a heap of ``n`` entries (it then has ``n + 1``): sift up."""
    j = n
    while j > 0:
        parent = (j - 1) >> 1
        if key[parent] <= k:
            break
        key[j] = key[parent]
        ident[j] = ident[parent]
        j = parent
    key[j] = k
    ident[j] = i


@njit(cache=True, inline="always")
def heap_replace_top(key, ident, n, k, i):
    """Put (``k``, ``i``) at the root of a heap of ``n`` entries in place of its top: sift down.

    To pop the top, decrement ``n`` and pass the last entry, ``key[n]``, ``ident[n]``.
    """
    j = 0
    while True:
        child = 2 * j + 1
        if child >= n:
            break
        if child + 1 < n and key[child + 1] < key[child]:
            child += 1
        if key[child] >= k:
            break
        key[j] = key[child]
        ident[j] = ident[child]
        j = child
    key[j] = k
    ident[j] = i
