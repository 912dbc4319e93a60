"""The compiled event loop of the packet simulator (numba, one core).

Every queue is FIFO with one server and the service time of a packet is known when it arrives
(its length over the capacity), so a queue needs no event of its own: a packet arriving at time
t at queue q leaves at

    D = max(t, D_q) + L / C_q,     D_q ← D        (Lindley's recursion)

provided the arrivals at each queue are processed in time order across the network.

Delays of a hop (in this order): processing at the arc's tail node, waiting and transmission in
the arc's queue, propagation along the arc.  Processing and propagation are constant per arc,
so the packets that left arc a's queue reach the next queue in the order they left it: each arc
keeps its packets in transit in a FIFO list (linked through the packets), and so does each
demand for its next Poisson arrival (shifted by the source's processing delay).  A binary heap
holds only the *head* of each list, keyed by its arrival time at its next queue, so it has at
most (arcs + demands) entries however many packets are in flight, and a hop costs one
replace-top of that heap (plus one push when the next arc's list was empty).

Memory layout: a packet's state is one 64-byte record (:data:`PACKET`, one cache line), not one
entry in each of eight arrays.  With millions of packets in flight (GÉANT: ~3 million) the
state does not fit in the caches; a hop reads and writes most fields of its packet, so one
record costs one cache miss where eight arrays cost up to eight, and reading the next head's
arrival time for the heap brings that whole record in before it is processed (1.5x on GÉANT,
BENCHMARKS.md).

Finite buffers (drop-tail): in packets, an arriving packet is dropped when K packets are in the
queue (the one in transmission included; the departure times of the K are kept in a ring); in
bits, when the unfinished work max(D_q − t, 0)·C_q plus the packet's length exceeds B.

The loop never allocates.  It returns a status code when it must stop: ``DONE``; ``PAUSED``
after ``max_events`` (the caller reports progress and calls again); ``GROW_POOL`` or
``GROW_RECORDS`` when the packet pool or the delay record is full (the caller enlarges it with
:func:`grow` and calls again).  The random stream is numba's, seeded by :func:`seed`; it
continues across calls, so a run's output depends only on its seed.
"""
from __future__ import annotations

import numpy as np
from numba import njit

DONE, PAUSED, GROW_POOL, GROW_RECORDS = 0, 1, 2, 3
REDRAWN, KEPT, FIXED, EMPIRICAL = 0, 1, 2, 3
BY_PACKETS, BY_DURATION = 0, 1

#: One packet in flight: 64 bytes, one cache line (the pool is allocated line-aligned by
#: :func:`packet_pool`).  Fields: demand, path, hop (index of the arc it is on or queues for),
#: next (the packet behind it in its arc's transit list, −1 at the tail), batch (−1: not
#: measured); length (bits, for lengths kept across hops), birth (creation time, s), time
#: (arrival at its next queue, s).
PACKET = np.dtype([("demand", np.int64), ("path", np.int64), ("hop", np.int64), ("next", np.int64),
                   ("batch", np.int64), ("length", np.float64), ("birth", np.float64), ("time", np.float64)])
CACHE_LINE = 64

# counters[] slots
C_GENERATED, C_OUTSTANDING, C_HOPS, C_HEAP, C_FREE, C_RECORDS, C_MEASURED_DONE = range(7)
N_COUNTERS = 7


@njit(cache=True)
def seed(value):
    """Seed numba's random stream (one per thread, shared by every compiled function)."""
    np.random.seed(value)


@njit(cache=True, inline="always")
def _push(heap_t, heap_id, n, t, ident):
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        if heap_t[parent] <= t:
            break
        heap_t[i] = heap_t[parent]
        heap_id[i] = heap_id[parent]
        i = parent
    heap_t[i] = t
    heap_id[i] = ident


@njit(cache=True, inline="always")
def _sift_down(heap_t, heap_id, n, t, ident):
    """Put (t, ident) at the root of a heap of ``n`` entries and restore the heap order."""
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and heap_t[child + 1] < heap_t[child]:
            child += 1
        if heap_t[child] >= t:
            break
        heap_t[i] = heap_t[child]
        heap_id[i] = heap_id[child]
        i = child
    heap_t[i] = t
    heap_id[i] = ident


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
        _push(heap_t, heap_id, n, np.random.exponential(1.0 / dem_rate[k]) + dem_proc[k], -(k + 1))
        n += 1
    counters[C_HEAP] = n


@njit(cache=True)
def run(dem_rate, dem_proc, dem_first_path, dem_end_path, path_cum, path_indptr, path_arcs,
        arc_queue, arc_onward, arc_prop, queue_cap, buf_pkts, buf_bits, ring_off, ring_head,
        ring_count, ring_time, length_mode, mean_length, sizes, cumulative,
        budget_mode, warm, stop, n_batches,
        heap_t, heap_id, fifo_head, fifo_tail, pk, free, queue_free_at, counters,
        arc_sum, arc_count, arc_offered, arc_dropped, dem_sum, dem_count, dem_offered,
        dem_dropped, rec_delay, rec_demand, max_events):
    """Process events until done, paused after ``max_events``, or out of space.

    ``dem_proc[k]``: processing delay at demand k's source; ``arc_onward[a]``: propagation of
    arc a plus processing at its head node (the time from leaving a's queue to joining the
    next); ``arc_prop[a]``: propagation alone (the last hop: nothing is charged at the target).
    ``budget_mode`` BY_PACKETS: packets number ``warm``..``stop``−1 (in order of creation) are
    measured; BY_DURATION: packets created in [``warm``, ``stop``) seconds.  Arrivals go on
    until every measured packet has been delivered or dropped, so the last measured packets
    see a loaded network.  A measured packet belongs to one of ``n_batches`` consecutive
    batches (by creation order or time), the unit of the batch-means confidence interval.
    """
    n_heap = counters[C_HEAP]
    n_free = counters[C_FREE]
    n_rec = counters[C_RECORDS]
    rec_cap = rec_delay.size
    events = 0
    status = PAUSED
    while events < max_events:
        if counters[C_MEASURED_DONE] == 1 and counters[C_OUTSTANDING] == 0:
            status = DONE
            break
        if n_free == 0:
            status = GROW_POOL
            break
        if n_rec >= rec_cap:
            status = GROW_RECORDS
            break
        events += 1
        t = heap_t[0]
        ident = heap_id[0]

        if ident < 0:  # demand k's next packet reaches its first queue
            k = -ident - 1
            n_free -= 1
            p = free[n_free]
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
            pk[p].demand = k
            pk[p].path = path
            pk[p].hop = 0
            pk[p].birth = birth
            pk[p].batch = batch
            if length_mode != REDRAWN:
                pk[p].length = _length(length_mode, mean_length, sizes, cumulative)
            _sift_down(heap_t, heap_id, n_heap, t + np.random.exponential(1.0 / dem_rate[k]), ident)
        else:  # the head of arc `ident`'s transit list reaches its next queue
            p = fifo_head[ident]
            nxt = pk[p].next
            fifo_head[ident] = nxt
            if nxt < 0:
                fifo_tail[ident] = -1
                n_heap -= 1
                _sift_down(heap_t, heap_id, n_heap, heap_t[n_heap], heap_id[n_heap])
            else:
                _sift_down(heap_t, heap_id, n_heap, pk[nxt].time, ident)

        # packet p arrives at time t at the queue of its hop h
        path = pk[p].path
        h = pk[p].hop
        base = path_indptr[path]
        a = path_arcs[base + h]
        q = arc_queue[a]
        batch = pk[p].batch
        counters[C_HOPS] += 1
        length = np.random.exponential(mean_length) if length_mode == REDRAWN else pk[p].length
        leave = max(t, queue_free_at[q]) + length / queue_cap[q]
        dropped = False
        if buf_pkts[q] > 0:
            size = buf_pkts[q]
            off = ring_off[q]
            head = ring_head[q]
            count = ring_count[q]
            while count > 0 and ring_time[off + head] <= t:
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
                ring_time[off + tail] = leave
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
                dem_dropped[batch, pk[p].demand] += 1
                counters[C_OUTSTANDING] -= 1
            free[n_free] = p
            n_free += 1
            continue
        queue_free_at[q] = leave
        if batch >= 0:
            arc_sum[batch, a] += leave - t
            arc_count[batch, a] += 1
        if base + h + 1 == path_indptr[path + 1]:  # delivered after the propagation of arc a
            if batch >= 0:
                k = pk[p].demand
                delay = leave + arc_prop[a] - pk[p].birth
                dem_sum[batch, k] += delay
                dem_count[batch, k] += 1
                rec_delay[n_rec] = delay
                rec_demand[n_rec] = k
                n_rec += 1
                counters[C_OUTSTANDING] -= 1
            free[n_free] = p
            n_free += 1
        else:  # in transit on arc a: appended to its list (departures from a queue are in order)
            pk[p].hop = h + 1
            pk[p].time = leave + arc_onward[a]
            pk[p].next = -1
            if fifo_tail[a] < 0:
                fifo_head[a] = p
                _push(heap_t, heap_id, n_heap, pk[p].time, a)
                n_heap += 1
            else:
                pk[fifo_tail[a]].next = p
            fifo_tail[a] = p
    counters[C_HEAP] = n_heap
    counters[C_FREE] = n_free
    counters[C_RECORDS] = n_rec
    return status


def packet_pool(size: int, old: np.ndarray | None = None) -> np.ndarray:
    """A zeroed pool of ``size`` :data:`PACKET` records starting on a cache-line boundary (so
    that a packet is one line, not two), with ``old``'s records copied in front."""
    raw = np.zeros(size * PACKET.itemsize + CACHE_LINE, dtype=np.uint8)
    offset = -raw.ctypes.data % CACHE_LINE
    pool = raw[offset:offset + size * PACKET.itemsize].view(PACKET)
    if old is not None:
        pool[:old.size] = old
    return pool


def grow(array: np.ndarray, size: int, fill=0) -> np.ndarray:
    """``array`` copied into a new array of ``size`` entries (the rest ``fill``)."""
    out = np.full(size, fill, dtype=array.dtype)
    out[:array.size] = array
    return out
