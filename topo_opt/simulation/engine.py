"""The compiled event loop of the packet simulator (numba, one core).

Every queue is FIFO with one server and the service time of a packet is known when it arrives
(its length over the capacity), so a queue needs no event of its own: a packet arriving at time
t at queue q leaves at

    D = max(t, D_q) + L / C_q,     D_q ← D        (Lindley's recursion)

provided the arrivals at each queue are processed in time order across the network.

Delays of a hop (in this order): processing at the arc's tail node, waiting and transmission in
the arc's queue, propagation along the arc.  Processing and propagation are constant per arc,
so the packets that left arc a's queue reach the next queue in the order they left it: each arc
keeps its packets in transit in a FIFO, and each demand has one pending Poisson arrival (shifted
by the source's processing delay).  A binary heap holds only the *head* of each FIFO and each
demand's next arrival, keyed by the arrival time at the next queue, so it has at most
(arcs + demands) entries however many packets are in flight, and a hop costs one replace-top of
that heap (plus one push when the next arc's FIFO was empty).

Memory layout: each arc's FIFO is a ring of packet records (:data:`TRANSIT`, 40 bytes) in one
shared array; a hop copies its packet from the head of one ring to the tail of the next.  With
millions of packets in flight (GÉANT: ~3 million) the packets do not fit in the caches, but a
hop then touches only ring heads and tails, read and written in order (one line serves the next
packets, and the hardware prefetches), where packets kept in a pool and linked per arc were
scattered: one cache miss or more per field per hop (2.2x on GÉANT, BENCHMARKS.md).  A full
ring is doubled between events (:func:`grow_transit`).

Finite buffers (drop-tail): in packets, an arriving packet is dropped when K packets are in the
queue (the one in transmission included; the departure times of the K are kept in a ring); in
bits, when the unfinished work max(D_q − t, 0)·C_q plus the packet's length exceeds B.

The loop never allocates.  It returns a status code when it must stop: ``DONE``; ``PAUSED``
after ``max_events`` (the caller reports progress and calls again); ``GROW_TRANSIT`` when an
arc's ring is full (``counters[C_FULL_ARC]``; the caller doubles it with :func:`grow_transit`)
or ``GROW_RECORDS`` when the delay record is full (:func:`grow`); then the caller calls again.
The random stream is numba's, seeded by :func:`seed`; it continues across calls, so a run's
output depends only on its seed.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from topo_opt.algorithms.binary_heap import heap_push, heap_replace_top

DONE, PAUSED, GROW_TRANSIT, GROW_RECORDS = 0, 1, 2, 3
REDRAWN, KEPT, FIXED, EMPIRICAL = 0, 1, 2, 3
BY_PACKETS, BY_DURATION = 0, 1

#: A packet in transit on an arc (40 bytes): demand, path, hop (index in the path of the arc
#: whose queue it joins next), batch (−1: not measured); length (bits, for lengths kept across
#: hops), birth (creation time, s), time (arrival at its next queue, s).
TRANSIT = np.dtype([("demand", np.int32), ("path", np.int32), ("hop", np.int32), ("batch", np.int32),
                    ("length", np.float64), ("birth", np.float64), ("time", np.float64)])
INITIAL_RING = 64

# counters[] slots
C_GENERATED, C_OUTSTANDING, C_HOPS, C_HEAP, C_FULL_ARC, C_RECORDS, C_MEASURED_DONE = range(7)
N_COUNTERS = 7


@njit(cache=True)
def seed(value):
    """Seed numba's random stream (one per thread, shared by every compiled function)."""
    np.random.seed(value)


@njit(cache=True)
def _length(mode, mean, sizes, cumulative):
    if mode == FIXED:
        return mean
    if mode == EMPIRICAL:
        return sizes[np.searchsorted(cumulative, np.random.random(), side="right")]
    return np.random.exponential(mean)


@njit(cache=True)
def start(dem_rate, dem_proc, heap_t, heap_id, counters):
    """Put every demand's first Poisson arrival (at its first queue) in the heap."""
    n = 0
    for k in range(dem_rate.size):
        heap_push(heap_t, heap_id, n, np.random.exponential(1.0 / dem_rate[k]) + dem_proc[k], -(k + 1))
        n += 1
    counters[C_HEAP] = n


@njit(cache=True)
def run(dem_rate, dem_proc, dem_first_path, dem_end_path, path_cum, path_indptr, path_arcs,
        arc_queue, arc_onward, arc_prop, queue_cap, buf_pkts, buf_bits, ring_off, ring_head,
        ring_count, ring_time, length_mode, mean_length, sizes, cumulative,
        budget_mode, warm, stop, n_batches,
        heap_t, heap_id, transit, tr_off, tr_size, tr_head, tr_count, queue_free_at, counters,
        arc_sum, arc_count, arc_offered, arc_dropped, dem_sum, dem_count, dem_offered,
        dem_dropped, rec_delay, rec_demand, max_events):
    """Process events until done, paused after ``max_events``, or out of space.

    ``dem_proc[k]``: processing delay at demand k's source; ``arc_onward[a]``: propagation of
    arc a plus processing at its head node (the time from leaving a's queue to joining the
    next); ``arc_prop[a]``: propagation alone (the last hop: nothing is charged at the target).
    ``transit[tr_off[a]:tr_off[a] + tr_size[a]]`` is arc a's ring of packets in transit
    (``tr_count[a]`` of them from ``tr_head[a]``, oldest first).
    ``budget_mode`` BY_PACKETS: packets number ``warm``..``stop``−1 (in order of creation) are
    measured; BY_DURATION: packets created in [``warm``, ``stop``) seconds.  Arrivals go on
    until every measured packet has been delivered or dropped, so the last measured packets
    see a loaded network.  A measured packet belongs to one of ``n_batches`` consecutive
    batches (by creation order or time), the unit of the batch-means confidence interval.
    """
    n_heap = counters[C_HEAP]
    n_rec = counters[C_RECORDS]
    rec_cap = rec_delay.size
    events = 0
    status = PAUSED
    while events < max_events:
        if counters[C_MEASURED_DONE] == 1 and counters[C_OUTSTANDING] == 0:
            status = DONE
            break
        if counters[C_FULL_ARC] >= 0:  # every ring has room for the one packet an event may append
            status = GROW_TRANSIT
            break
        if n_rec >= rec_cap:
            status = GROW_RECORDS
            break
        events += 1
        t = heap_t[0]
        ident = heap_id[0]

        if ident < 0:  # demand k's next packet reaches its first queue
            k = -ident - 1
            birth = t - dem_proc[k]
            seq = counters[C_GENERATED]
            counters[C_GENERATED] = seq + 1
            position = float(seq) if budget_mode == BY_PACKETS else birth
            batch = -1
            if position >= stop:
                counters[C_MEASURED_DONE] = 1
            elif position >= warm:
                batch = min(int((position - warm) / (stop - warm) * n_batches), n_batches - 1)
                counters[C_OUTSTANDING] += 1
                dem_offered[batch, k] += 1
            first = dem_first_path[k]
            last = dem_end_path[k] - 1
            path = first
            if last > first:
                u = np.random.random()
                while path < last and path_cum[path] <= u:
                    path += 1
            h = 0
            length = 0.0
            if length_mode != REDRAWN:
                length = _length(length_mode, mean_length, sizes, cumulative)
            heap_replace_top(heap_t, heap_id, n_heap, t + np.random.exponential(1.0 / dem_rate[k]), ident)
        else:  # the oldest packet in transit on arc `ident` reaches its next queue
            off = tr_off[ident]
            i = tr_head[ident]
            k = transit[off + i].demand
            path = transit[off + i].path
            h = transit[off + i].hop
            batch = transit[off + i].batch
            length = transit[off + i].length
            birth = transit[off + i].birth
            i += 1
            if i == tr_size[ident]:
                i = 0
            tr_head[ident] = i
            tr_count[ident] -= 1
            if tr_count[ident] == 0:
                n_heap -= 1
                heap_replace_top(heap_t, heap_id, n_heap, heap_t[n_heap], heap_id[n_heap])
            else:
                heap_replace_top(heap_t, heap_id, n_heap, transit[off + i].time, ident)

        # the packet (demand k, path, hop h) arrives at time t at the queue of its hop
        base = path_indptr[path]
        a = path_arcs[base + h]
        q = arc_queue[a]
        counters[C_HOPS] += 1
        if length_mode == REDRAWN:
            length = np.random.exponential(mean_length)
        leave = max(t, queue_free_at[q]) + length / queue_cap[q]
        dropped = False
        if buf_pkts[q] > 0:
            size = buf_pkts[q]
            roff = ring_off[q]
            head = ring_head[q]
            count = ring_count[q]
            while count > 0 and ring_time[roff + head] <= t:
                head += 1
                if head == size:
                    head = 0
                count -= 1
            if count >= size:
                dropped = True
            else:
                tail = head + count
                if tail >= size:
                    tail -= size
                ring_time[roff + tail] = leave
                count += 1
            ring_head[q] = head
            ring_count[q] = count
        elif buf_bits[q] < np.inf:
            if max(queue_free_at[q] - t, 0.0) * queue_cap[q] + length > buf_bits[q]:
                dropped = True
        if batch >= 0:
            arc_offered[batch, a] += 1
        if dropped:
            if batch >= 0:
                arc_dropped[batch, a] += 1
                dem_dropped[batch, k] += 1
                counters[C_OUTSTANDING] -= 1
            continue
        queue_free_at[q] = leave
        if batch >= 0:
            arc_sum[batch, a] += leave - t
            arc_count[batch, a] += 1
        if base + h + 1 == path_indptr[path + 1]:  # delivered after the propagation of arc a
            if batch >= 0:
                delay = leave + arc_prop[a] - birth
                dem_sum[batch, k] += delay
                dem_count[batch, k] += 1
                rec_delay[n_rec] = delay
                rec_demand[n_rec] = k
                n_rec += 1
                counters[C_OUTSTANDING] -= 1
        else:  # in transit on arc a: appended to its ring (departures from a queue are in order)
            count = tr_count[a]
            i = tr_head[a] + count
            if i >= tr_size[a]:
                i -= tr_size[a]
            j = tr_off[a] + i
            transit[j].demand = k
            transit[j].path = path
            transit[j].hop = h + 1
            transit[j].batch = batch
            transit[j].length = length
            transit[j].birth = birth
            transit[j].time = leave + arc_onward[a]
            tr_count[a] = count + 1
            if count == 0:
                heap_push(heap_t, heap_id, n_heap, leave + arc_onward[a], a)
                n_heap += 1
            if count + 1 == tr_size[a]:
                counters[C_FULL_ARC] = a
    counters[C_HEAP] = n_heap
    counters[C_RECORDS] = n_rec
    return status


def grow_transit(transit, tr_off, tr_size, tr_head, tr_count, arc: int, used: int):
    """Double arc ``arc``'s ring; returns ``(transit, used)``, ``used`` the end of the occupied
    part of ``transit``.

    The ring moves to a new segment at the end (its old segment is left unused); when
    ``transit`` has no room, a twice larger array is allocated and every ring is copied into it
    without gaps.  So the memory stays within a few times the packets in flight and a packet is
    copied O(log) times.
    """
    tr_size[arc] *= 2
    if used + tr_size[arc] > transit.size:
        fresh = np.zeros(max(2 * transit.size, int(tr_size.sum())), dtype=TRANSIT)
        used = 0
        for a in range(tr_off.size):
            _unwrap(transit, tr_off[a], tr_head[a], tr_count[a], tr_size[a] if a != arc else tr_size[a] // 2,
                    fresh, used)
            tr_off[a], tr_head[a] = used, 0
            used += tr_size[a]
        return fresh, used
    _unwrap(transit, tr_off[arc], tr_head[arc], tr_count[arc], tr_size[arc] // 2, transit, used)
    tr_off[arc], tr_head[arc] = used, 0
    return transit, used + tr_size[arc]


def _unwrap(source, off: int, head: int, count: int, size: int, target, at: int) -> None:
    """Copy a ring's ``count`` records, oldest first, to ``target[at:]``."""
    first = min(count, size - head)
    target[at:at + first] = source[off + head:off + head + first]
    target[at + first:at + count] = source[off:off + count - first]


def grow(array: np.ndarray, size: int, fill=0) -> np.ndarray:
    """``array`` copied into a new array of ``size`` entries (the rest ``fill``)."""
    out = np.full(size, fill, dtype=array.dtype)
    out[:array.size] = array
    return out
