"""The binary heap shared by path equilibration's Dijkstra and the packet simulator."""
import numpy as np
from numba import njit

from topo_opt.algorithms.binary_heap import heap_push, heap_replace_top


@njit
def _heap_sort(keys):
    """Push every key, then pop them all: the keys in order, with the ids that came along."""
    n = keys.size
    key, ident = np.empty(n), np.empty(n, dtype=np.int64)
    for i in range(n):
        heap_push(key, ident, i, keys[i], i)
    out_key, out_id = np.empty(n), np.empty(n, dtype=np.int64)
    size = n
    for i in range(n):
        out_key[i], out_id[i] = key[0], ident[0]
        size -= 1
        heap_replace_top(key, ident, size, key[size], ident[size])
    return out_key, out_id


def test_push_then_pop_returns_keys_sorted_with_their_ids():
    rng = np.random.default_rng(0)
    keys = np.concatenate([rng.random(200), rng.integers(0, 5, 50).astype(float)])  # ties too
    out_key, out_id = _heap_sort(keys)
    assert np.array_equal(out_key, np.sort(keys))
    assert np.array_equal(keys[out_id], out_key)
    assert np.array_equal(np.sort(out_id), np.arange(keys.size))


@njit
def _replace_keeps_order(keys, replacements):
    n = keys.size
    key, ident = np.empty(n), np.empty(n, dtype=np.int64)
    for i in range(n):
        heap_push(key, ident, i, keys[i], i)
    for r in replacements:  # the event loop's replace-top: the top leaves, a later key enters
        heap_replace_top(key, ident, n, r, -1)
    ok = True
    for i in range(1, n):
        ok = ok and key[(i - 1) >> 1] <= key[i]
    return ok, key.min()


def test_replace_top_keeps_the_heap_order():
    rng = np.random.default_rng(1)
    ok, smallest = _replace_keeps_order(rng.random(64), 1.0 + rng.random(500))
    assert ok and smallest >= 1.0  # the 64 keys below 1 were the top, each replaced in turn
