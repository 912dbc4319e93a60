"""The packet simulator's transit rings: growing a full ring keeps every arc's packets in order."""
import numpy as np

from topo_opt.simulation import engine


def _rings(sizes, heads, counts):
    """Rings of the given sizes, packet j of arc a holding demand = 1000 a + j (j = 0 oldest)."""
    sizes = np.array(sizes, dtype=np.int64)
    off = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    transit = np.zeros(int(sizes.sum()), dtype=engine.TRANSIT)
    for a, (head, count) in enumerate(zip(heads, counts)):
        for j in range(count):
            slot = off[a] + (head + j) % sizes[a]
            transit[slot]["demand"] = 1000 * a + j
            transit[slot]["time"] = 0.5 * j
    return transit, off, sizes, np.array(heads, dtype=np.int64), np.array(counts, dtype=np.int64)


def _contents(transit, off, size, head, count, a):
    return [int(transit[off[a] + (head[a] + j) % size[a]]["demand"]) for j in range(count[a])]


def test_grow_in_place_and_with_reallocation_keeps_the_order():
    # arc 1 full and wrapped (head in the middle); arcs 0 and 2 partly filled, arc 2 wrapped too
    transit, off, size, head, count = _rings([4, 4, 4], [1, 2, 3], [2, 4, 3])
    before = [_contents(transit, off, size, head, count, a) for a in range(3)]
    used = int(size.sum())
    # no room at the end: reallocation, every ring copied without gaps
    transit, used = engine.grow_transit(transit, off, size, head, count, 1, used)
    assert size.tolist() == [4, 8, 4] and transit.size >= 16 and used == 16
    assert [_contents(transit, off, size, head, count, a) for a in range(3)] == before
    assert off.tolist() == [0, 4, 12] and head.tolist() == [0, 0, 0]
    # room at the end (the array doubled to 24): arc 0 moves there, its old segment left unused
    count[0] = 4
    transit[off[0] + 2: off[0] + 4]["demand"] = [2, 3]
    before[0] = [0, 1, 2, 3]
    transit, used = engine.grow_transit(transit, off, size, head, count, 0, used)
    assert off[0] == 16 and size[0] == 8 and used == 24
    assert [_contents(transit, off, size, head, count, a) for a in range(3)] == before
