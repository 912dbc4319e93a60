"""Single-queue models against closed forms and an independent sum over the state probabilities."""
import numpy as np
import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.evaluators.queues import md1, mg1, mm1, mm1k


def _mm1k_direct(lam, mu, k):
    """P_B, L and T of M/M/1/K by normalising ρⁿ, n = 0..K, in log space (independent of ρ ≠ 1)."""
    n = np.arange(k + 1)
    log_w = n * np.log(lam / mu)
    p = np.exp(log_w - log_w.max())
    p /= p.sum()
    blocking, mean = p[-1], float(n @ p)
    return blocking, mean, mean / (lam * (1 - blocking))


def test_mm1_textbook_example():
    # 1 Mbit/s, 500-byte packets: μ = 250 packet/s; 800 kbit/s offered: λ = 200 packet/s
    q = mm1(200.0, 250.0)
    assert float(q.utilization) == pytest.approx(0.8)
    assert float(q.packets_in_system) == pytest.approx(4.0)
    assert float(q.sojourn_s) == pytest.approx(0.020)
    assert float(q.waiting_s) == pytest.approx(0.016)
    assert float(q.blocking) == 0.0 and float(q.carried_rate) == 200.0 and not q.saturated


def test_pollaczek_khinchine_reduces_to_mm1_and_md1():
    rng = np.random.default_rng(1)
    mu = rng.uniform(10, 1e6, 200)
    lam = mu * rng.uniform(0, 0.999, 200)
    for field in ("packets_in_system", "sojourn_s", "waiting_s"):
        np.testing.assert_allclose(getattr(mg1(lam, mu, 1.0), field), getattr(mm1(lam, mu), field),
                                   rtol=1e-12)
        np.testing.assert_allclose(getattr(mg1(lam, mu, 0.0), field), getattr(md1(lam, mu), field),
                                   rtol=1e-12)
    # M/D/1 at ρ = 0.8: N = ρ + ρ²/(2(1−ρ)) = 2.4, W_q = ρ/(2μ(1−ρ)) = 8 ms for μ = 250
    q = md1(200.0, 250.0)
    assert float(q.packets_in_system) == pytest.approx(2.4)
    assert float(q.waiting_s) == pytest.approx(0.008)


def test_mg1_broadcasts_cs2_per_queue():
    q = mg1(200.0, 250.0, np.array([0.0, 1.0, 3.0]))
    # W_q = ρ(1 + c²)/(2μ(1−ρ)) with ρ = 0.8, μ = 250
    np.testing.assert_allclose(q.waiting_s, 0.8 * (1 + np.array([0.0, 1.0, 3.0])) / (2 * 250 * 0.2))


@pytest.mark.parametrize("rho", [1e-6, 0.1, 0.5, 0.9, 1 - 1e-4, 1 - 1e-8, 1 + 1e-8, 1 + 1e-4, 1.5, 10.0])
@pytest.mark.parametrize("k", [1, 5, 50])
def test_mm1k_matches_direct_sum_of_state_probabilities(rho, k):
    mu = 1000.0
    blocking, mean, sojourn = _mm1k_direct(rho * mu, mu, k)
    q = mm1k(rho * mu, mu, k)
    assert float(q.blocking) == pytest.approx(blocking, rel=1e-9)
    assert float(q.packets_in_system) == pytest.approx(mean, rel=1e-9)
    assert float(q.sojourn_s) == pytest.approx(sojourn, rel=1e-9)
    assert float(q.carried_rate) == pytest.approx(rho * mu * (1 - blocking), rel=1e-9)
    assert float(q.waiting_s) == pytest.approx(sojourn - 1 / mu, rel=1e-6, abs=1e-15)
    assert not q.saturated


def test_mm1k_at_rho_one():
    k = np.array([1, 4, 9, 99])
    q = mm1k(50.0, 50.0, k)
    np.testing.assert_allclose(q.blocking, 1.0 / (k + 1))
    np.testing.assert_allclose(q.packets_in_system, k / 2)


def test_mm1k_large_buffer_tends_to_mm1():
    q = mm1k(200.0, 250.0, 2000)
    assert float(q.blocking) < 1e-190
    assert float(q.packets_in_system) == pytest.approx(4.0, rel=1e-12)
    assert float(q.sojourn_s) == pytest.approx(0.020, rel=1e-12)


def test_mm1k_overload_and_idle():
    # ρ = 1e6 with K = 1000: no overflow of ρ^K, almost everything blocked, buffer full
    q = mm1k(np.array([0.0, 1e9]), 1e3, 1000)
    assert q.blocking[1] == pytest.approx(1 - 1e-6, rel=1e-12)
    assert q.packets_in_system[1] == pytest.approx(1000 - 1e-6 / (1 - 1e-6), rel=1e-12)
    # λ = 0: nothing queued, a packet would see 1/μ
    assert q.blocking[0] == 0.0 and q.packets_in_system[0] == 0.0 and q.sojourn_s[0] == pytest.approx(1e-3)
    assert not q.saturated.any()


@pytest.mark.parametrize("model", [mm1, md1, lambda lam, mu: mg1(lam, mu, 2.0)])
def test_saturated_queues_report_nan_never_inf_or_negative(model):
    q = model(np.array([0.0, 100.0, 250.0, 300.0]), np.array([250.0, 250.0, 250.0, 250.0]))
    np.testing.assert_array_equal(q.saturated, [False, False, True, True])
    for field in ("packets_in_system", "sojourn_s", "waiting_s"):
        values = getattr(q, field)
        assert np.isnan(values[2:]).all()
        assert (values[:2] >= 0).all()
        assert not np.isinf(values).any()
    np.testing.assert_allclose(q.utilization, [0.0, 0.4, 1.0, 1.2])
    np.testing.assert_allclose(q.carried_rate, [0.0, 100.0, 250.0, 250.0])  # the server's rate


def test_queue_without_server():
    q = mm1(np.array([0.0, 5.0]), np.array([0.0, 0.0]))
    np.testing.assert_array_equal(q.saturated, [False, True])
    assert q.utilization[0] == 0.0 and q.packets_in_system[0] == 0.0
    assert np.isnan(q.sojourn_s).all()
    qk = mm1k(np.array([0.0, 5.0]), 0.0, 3)
    np.testing.assert_array_equal(qk.saturated, [False, True])
    np.testing.assert_array_equal(qk.blocking, [0.0, 1.0])
    np.testing.assert_array_equal(qk.carried_rate, [0.0, 0.0])


def test_bad_input_is_named():
    with pytest.raises(InvalidInputError,
                       match=r"arrival rate λ must be a finite number >= 0, got -1.0 packet/s at queue 1"):
        mm1(np.array([1.0, -1.0]), 10.0)
    with pytest.raises(InvalidInputError, match=r"service rate μ .* got nan"):
        md1(1.0, np.nan)
    with pytest.raises(InvalidInputError, match=r"cs2 must be a finite number >= 0, got -0.5"):
        mg1(1.0, 2.0, -0.5)
    with pytest.raises(InvalidInputError, match=r"buffer size K must be an integer >= 1 packet, got 0.0"):
        mm1k(1.0, 2.0, 0)
    with pytest.raises(InvalidInputError, match=r"buffer size K .* got 2.5"):
        mm1k(1.0, 2.0, 2.5)
