"""Counters to rates: wraps, resets, gaps, binning and the summary statistics.

Closed forms: a constant rate gives that rate in every bin whatever the polling; a 32-bit wrap
adds exactly 2^32 counts; the billing percentile is the ⌈0.95 n⌉-th sorted sample.  The
synthetic day (abilene, 32-bit counters every 5 min ± 15 s) checks the whole ingest against
the truth it was made from.
"""
import math
from pathlib import Path

import numpy as np
import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import read_instance
from topo_opt.measure import counters, rates, synthetic

ROOT = Path(__file__).resolve().parents[1]
T0 = 1_767_571_200.0


def long_csv(rows, extra=""):
    header = "timestamp,link,direction,counter" + ("," + extra if extra else "")
    return header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)


def one_series(text):
    series = counters.parse_counters(text, "c.csv")
    assert len(series) == 1
    return next(iter(series.values()))


def test_32_bit_wrap_adds_two_to_the_32():
    s = one_series(long_csv([(T0, "L", "forward", 2 ** 32 - 100), (T0 + 10, "L", "forward", 50),
                             (T0 + 20, "L", "forward", 200)]))
    clean = counters.clean_series(s)
    assert clean.n_wraps == 1 and not clean.events
    assert clean.total.tolist() == [0.0, 150 * 8.0, 300 * 8.0]  # octets -> bits


def test_64_bit_decrease_is_a_reset_and_its_interval_is_unknown():
    rows = [(T0 + 10 * i, "L", "forward", 2 ** 40 + 1000 * i) for i in range(6)]
    rows[3] = (T0 + 30, "L", "forward", 500)  # fell: a wrap would mean 2^64 octets in 10 s
    rows[4:] = [(T0 + 40, "L", "forward", 1500), (T0 + 50, "L", "forward", 2500)]
    clean = counters.clean_series(one_series(long_csv(rows)))
    assert [e.kind for e in clean.events] == ["reset"]
    assert clean.interval_ok.tolist() == [True, True, False, True, True]
    assert np.diff(clean.total).tolist() == [8000.0, 8000.0, 0.0, 8000.0, 8000.0]


def test_jump_above_the_interface_speed_is_a_reset():
    rows = [(T0 + 10 * i, "L", "forward", 1000 * i, 1e4) for i in range(5)]
    rows[3] = (T0 + 30, "L", "forward", 10 ** 9, 1e4)  # 8e8 bit/s on a 10 kbit/s interface
    rows[4] = (T0 + 40, "L", "forward", 10 ** 9 + 1000, 1e4)
    clean = counters.clean_series(one_series(long_csv(rows, "speed_bps")))
    assert [e.kind for e in clean.events] == ["reset"] and "jumped" in clean.events[0].message


def test_a_decrease_that_is_no_wrap_by_speed_is_a_reset():
    # 32-bit: 4e9 -> 1e9 would be a wrap of 1.29e9 octets in 10 s = 1 Gbit/s > the 1 Mbit/s speed
    rows = [(T0, "L", "forward", 4_000_000_000, 1e6), (T0 + 10, "L", "forward", 4_000_001_000, 1e6),
            (T0 + 20, "L", "forward", 1_000_000_000, 1e6), (T0 + 30, "L", "forward", 1_000_001_000, 1e6)]
    clean = counters.clean_series(one_series(long_csv(rows, "speed_bps")))
    assert [e.kind for e in clean.events] == ["reset"] and "not a 32-bit wrap" in clean.events[0].message


def test_a_counter_too_narrow_for_its_speed_is_reported():
    # 1 Gbit/s wraps a 32-bit octet counter every 34 s: 60-s polls cannot count the wraps
    rows = [(T0 + 60 * i, "L", "forward", 1000 * i, 1e9) for i in range(4)]
    clean = counters.clean_series(one_series(long_csv(rows, "speed_bps")))
    assert [e.kind for e in clean.events] == ["ambiguous"] and "3 poll intervals" in clean.events[0].message
    rows = [(T0 + 60 * i, "L", "forward", 1000 * i, 1e8) for i in range(4)]  # 100 Mbit/s: 344 s per wrap
    assert counters.clean_series(one_series(long_csv(rows, "speed_bps"))).events == ()


@pytest.mark.parametrize("rows, match", [
    ([(T0, "L", "forward", 5), (T0, "L", "forward", 6)], "does not increase"),
    ([(T0 + 5, "L", "forward", 5), (T0, "L", "forward", 6)], "c.csv:3"),
    ([(T0, "L", "forward", -5)], "negative counter"),
    ([(T0, "L", "sideways", 5)], "direction 'sideways'"),
    ([(T0, "L", "forward", "abc")], "not a number"),
    ([("yesterday", "L", "forward", 5)], "neither seconds nor ISO 8601"),
])
def test_bad_counter_files(rows, match):
    with pytest.raises(InvalidInputError, match=match):
        counters.parse_counters(long_csv(rows), "c.csv")


def test_value_beyond_the_declared_width_is_an_error():
    text = "timestamp,link,direction,counter,counter_bits\n" f"{T0},L,forward,{2 ** 33},32\n"
    with pytest.raises(InvalidInputError, match="does not fit in 32 bits"):
        counters.parse_counters(text, "c.csv")


def test_wide_format_equals_long_format():
    wide = f"timestamp,A:forward,A:reverse\n{T0},10,20\n{T0 + 60},70,\n{T0 + 120},130,140\n"
    long = long_csv([(T0, "A", "forward", 10), (T0, "A", "reverse", 20), (T0 + 60, "A", "forward", 70),
                     (T0 + 120, "A", "forward", 130), (T0 + 120, "A", "reverse", 140)])
    a, b = counters.parse_counters(wide), counters.parse_counters(long)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].time_s.tolist() == b[key].time_s.tolist()
        assert a[key].counter.tolist() == b[key].counter.tolist()


def test_iso_timestamps():
    assert counters.parse_timestamp("2026-01-05T00:00:00Z", "x") == T0
    assert counters.parse_timestamp("2026-01-05 01:00:00+01:00", "x") == T0


def test_constant_rate_is_recovered_in_every_bin_under_jittered_polling():
    rng = np.random.default_rng(3)
    rate_bps = 2.5e6
    times = np.sort(T0 + 7 + np.arange(100) * 60 + rng.uniform(-10, 10, 100))
    counts = np.mod(np.round((times - T0) * rate_bps / 8) + 2 ** 32 - 10 ** 7, 2 ** 32).astype(np.int64)
    s = one_series(long_csv([(repr(float(t)), "L", "forward", c) for t, c in zip(times, counts)]))
    clean = counters.clean_series(s)
    binned = rates.bin_all([clean], 300.0)
    valid = binned.rate[0][np.isfinite(binned.rate[0])]
    assert clean.n_wraps >= 1
    assert valid.size >= 18  # 100 min of polls, 300-s bins, the partial end bins dropped
    assert valid == pytest.approx(rate_bps, rel=1e-6)  # rounding to whole octets only


def test_gap_bins_are_unknown_and_reported():
    times = [T0 + 60 * i for i in range(30) if not 10 <= i <= 15]  # no poll from 600 s to 900 s
    s = one_series(long_csv([(t, "L", "forward", int((t - T0) * 1000)) for t in times]))
    clean = counters.clean_series(s)
    assert [(e.kind, e.start_s - T0, e.end_s - T0) for e in clean.events] == [("gap", 540.0, 960.0)]
    binned = rates.bin_all([clean], 300.0)
    # bins [300,600) and [600,900) and [900,1200) touch the gap (540, 960)
    assert np.isnan(binned.rate[0][1:4]).all() and np.isfinite(binned.rate[0][[0, 4]]).all()
    record = rates.summarize(binned, [clean])[0]
    assert record["gaps"] == [{"start_s": T0 + 300, "end_s": T0 + 1200}]
    assert record["mean"] == pytest.approx(8000.0)


@pytest.mark.parametrize("n, rank", [(1, 1), (20, 19), (21, 20), (100, 95), (288, 274)])
def test_billing_percentile_rule(n, rank):
    samples = np.random.default_rng(n).permutation(np.arange(1, n + 1, dtype=float))
    assert rates.billing_percentile(samples) == rank == math.ceil(0.95 * n - 1e-9)


def test_busy_hour_finds_the_heaviest_hour():
    edges = T0 + np.arange(289) * 300.0
    rate = np.ones(288)
    rate[100:112] = 5.0  # one hour at 5
    rate[50] = 50.0  # a spike: an hour around it would average (50 + 11) / 12 = 5.08 ...
    rate[[49, 51]] = np.nan  # ... but every hour holding it has an unknown bin, so none counts
    value, start = rates.busy_hour(rate, edges, 300.0)
    assert (value, start) == (5.0, T0 + 100 * 300)


@pytest.fixture(scope="module")
def abilene_day():
    network = read_instance(ROOT / "instances" / "abilene.json")
    syn = synthetic.synthetic_counters(network, seed=1)
    series = counters.parse_counters(syn.csv, "synthetic.csv")
    clean = [counters.clean_series(series[key]) for key in sorted(series)]
    binned = rates.bin_all(clean, 300.0)
    return syn, clean, binned, rates.summarize(binned, clean)


def test_synthetic_day_rates_match_the_truth(abilene_day):
    syn, clean, binned, records = abilene_day
    truth = syn.true_bin_rates(binned.edges)[[syn.keys.index(k) for k in binned.keys]]
    valid = np.isfinite(binned.rate)
    assert valid.mean() > 0.98  # only the partial first/last bins, resets and missed polls are lost
    # a reset that looks like a wrap (counter just below 2^32, then small) is read as one: up to
    # one poll interval's traffic goes to the wrong bins; leave the poll interval around it out
    for key, at in syn.resets:
        row = binned.keys.index(key)
        valid[row, (binned.edges[1:] > at - 400) & (binned.edges[:-1] < at + 400)] = False
    error = np.abs(binned.rate[valid] - truth[valid]) / truth[valid]
    # a bin's rate interpolates the counter inside poll intervals that straddle its edges; the
    # per-minute rates vary by ~10 % (noise), so single bins are off by ~1 %, rarely 7 %
    assert np.median(error) < 0.02 and error.max() < 0.1
    means = syn.true_means()
    for r in records:  # the day mean averages those errors out (and misses only a few bins)
        assert r["mean"] == pytest.approx(means[(r["link"], r["direction"])], rel=0.01)
        assert r["peak"] >= r["busy_hour"] >= r["mean"] and r["peak"] >= r["p95"] >= r["mean"]


def test_synthetic_day_events_are_the_inserted_ones(abilene_day):
    syn, clean, _, _ = abilene_day
    by_key = {c.key: c for c in clean}
    assert sum(c.n_wraps for c in clean) > 500  # 32-bit octets at up to 50 Mbit/s: every ~11 min
    found_resets = {(e.key, e.start_s, e.end_s) for c in clean for e in c.events if e.kind == "reset"}
    for key, at in syn.resets:
        hits = [r for r in found_resets if r[0] == key and r[1] <= at <= r[2]]
        if not hits:  # a reset whose counter looks like a wrap: the wrap reading is plausible
            t, c = by_key[key].time_s, counters.parse_counters(syn.csv)[key].counter
            i = int(np.searchsorted(t, at))
            assert c[i] < c[i - 1]
    assert found_resets, "no reset found"
    assert all(any(k == key and a <= at <= b for key, at in syn.resets) for k, a, b in found_resets)
    gaps = {(e.key, e.start_s, e.end_s) for c in clean for e in c.events if e.kind == "gap"}
    assert len(gaps) == len(syn.missed)
    for key, at in syn.missed:
        assert any(k == key and a < at < b for k, a, b in gaps)
