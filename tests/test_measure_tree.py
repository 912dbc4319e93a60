"""Delay tomography on trees: the E-step against brute-force enumeration, EM against a known truth,
Weibull and M/M/1 forms, tree and probe validation."""
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli
from topo_opt.errors import InvalidInputError
from topo_opt.measure import synthetic as sy
from topo_opt.measure import tree_tomography as tt

EX = Path(__file__).resolve().parents[1] / "examples" / "measure"


def test_e_step_matches_brute_force_enumeration():
    tree = sy.binary_tree(2)  # S -> n1 -> r1, r2: three links
    rng = np.random.default_rng(0)
    size = 5
    pmf = rng.dirichlet(np.ones(size), size=3)
    y = rng.integers(0, size, size=(6, 2))
    new, loglik = tt.em_step(tree, y, pmf)
    # brute force: every (x0, x1, x2) with x0 + x1 = y_r1 and x0 + x2 = y_r2
    expected_ll, counts = 0.0, np.zeros((3, size))
    shared, first, second = (tree.links.index(k) for k in ("ln1", "lr1", "lr2"))
    for y1, y2 in y:
        weights = {}
        for x in itertools.product(range(size), repeat=3):
            if x[0] + x[1] == y1 and x[0] + x[2] == y2:
                weights[x] = pmf[shared, x[0]] * pmf[first, x[1]] * pmf[second, x[2]]
        total = sum(weights.values())
        expected_ll += np.log(total)
        for x, w in weights.items():
            for link, value in zip((shared, first, second), x):
                counts[link, value] += w / total
    assert loglik == pytest.approx(expected_ll, rel=1e-12)
    assert new == pytest.approx(counts / len(y), abs=1e-12)


def test_em_never_decreases_the_likelihood():
    tree = sy.binary_tree(4)
    truth = np.random.default_rng(1).dirichlet(np.ones(6) * 0.7, size=len(tree.links))
    delays = sy.sample_tree_delays(tree, truth, 1.0, 300, seed=2)
    y = np.rint(delays).astype(np.int64)
    pmf = np.full((len(tree.links), int(y.max()) + 1), 1.0 / (y.max() + 1))
    previous = -np.inf
    for _ in range(15):
        pmf, loglik = tt.em_step(tree, y, pmf)
        assert loglik >= previous - 1e-9
        previous = loglik


def test_em_recovers_known_link_distributions():
    tree = sy.binary_tree(4)  # 7 links, every inner node with two children
    rng = np.random.default_rng(4)
    utilization = rng.uniform(0.2, 0.7, len(tree.links))
    truth = np.array([sy.mm1_wait_pmf(rho, 2.0, 1.0, 10) for rho in utilization])  # bins of 1 "s"
    delays = sy.sample_tree_delays(tree, truth, 1.0, 1500, seed=5, fixed_s=3.0)
    result = tt.fit_em(tree, delays, levels=1, bin_s=1.0, tol=1e-6)
    assert result.offsets_s == pytest.approx(3.0)
    size = result.pmf.shape[1]
    padded = np.zeros((len(tree.links), max(size, 10)))
    padded[:, :10] = truth
    x = np.arange(padded.shape[1])
    estimate = np.zeros_like(padded)
    estimate[:, :size] = result.pmf
    # 1500 trains: each pmf entry has a sampling error of ~sqrt(p(1-p)/1500) <= 0.013, which the
    # deconvolution (a link's delay is seen only through sums) amplifies a few times
    assert 0.5 * np.abs(estimate - padded).sum(axis=1).max() < 0.1
    assert estimate @ x == pytest.approx(padded @ x, abs=0.25)  # means, in bins (~1.1-4.7 bins)


def test_coarse_to_fine_matches_a_single_fine_level():
    tree = sy.binary_tree(4)
    truth = np.array([sy.mm1_wait_pmf(rho, 2.0, 1.0, 12) for rho in np.linspace(0.2, 0.6, 7)])
    delays = sy.sample_tree_delays(tree, truth, 1.0, 400, seed=6)
    fine = tt.fit_em(tree, delays, levels=1, bin_s=1.0, tol=1e-7, max_iter=300)
    staged = tt.fit_em(tree, delays, levels=3, bin_s=1.0, tol=1e-7, max_iter=300)
    assert len(staged.iterations) == 3 and staged.bin_s == 1.0
    assert staged.loglik[-1] == pytest.approx(fine.loglik[-1], rel=1e-3)  # the same optimum region
    x = np.arange(fine.pmf.shape[1])
    assert staged.pmf @ x == pytest.approx(fine.pmf @ x, abs=0.15)


def test_weibull_fit_of_a_binned_weibull():
    a, b, q = 1.5, 0.05, 1.0
    edges = (np.arange(60) + 0.5) * q
    survival = np.exp(-b * edges ** a)
    # bin 0 (X < q/2) has P(0) = 0.3; bin k >= 1 has 0.7 P(e_{k-1} < X <= e_k | X >= e_0), so the
    # conditional survival after bin k is exp(-b e_k^a)
    pmf = np.concatenate([[0.3], 0.7 * -np.diff(np.concatenate([[1.0], survival[1:]]))])
    fit = tt.weibull_fit(pmf, q)
    assert fit["a"] == pytest.approx(a, rel=1e-6) and fit["b"] == pytest.approx(b, rel=1e-6)
    assert fit["r2"] > 0.999999


def test_mm1_waiting_time():
    out = tt.mm1_wait(10e6, 6e6, 12000.0)
    mu, lam = 10e6 / 12000, 6e6 / 12000
    assert out["mean_wait_s"] == pytest.approx(0.6 / (mu - lam)) and out["p_zero"] == pytest.approx(0.4)
    assert tt.mm1_wait(10e6, 12e6, 12000.0)["saturated"]


def write_tree(tmp_path, links, root="S"):
    path = tmp_path / "tree.json"
    path.write_text(json.dumps({"format": "topo-opt/probe-tree", "version": 1, "root": root,
                                "links": [{"id": f"l{i}", "parent": p, "child": c} for i, (p, c) in enumerate(links)]}))
    return path


@pytest.mark.parametrize("links, match", [
    ([("S", "a"), ("a", "b"), ("S", "b")], "node 'b' has two parents"),
    ([("S", "a"), ("b", "c"), ("c", "b")], "not reachable from the root"),
    ([("S", "a"), ("a", "S")], "enters the root"),
])
def test_not_a_tree(tmp_path, links, match):
    with pytest.raises(InvalidInputError, match=match):
        tt.read_tree(write_tree(tmp_path, links))


def test_single_child_links_are_not_identifiable(tmp_path):
    tree = tt.read_tree(write_tree(tmp_path, [("S", "a"), ("a", "b"), ("b", "r1"), ("b", "r2")]))
    assert tree.identifiable.tolist() == [False, False, True, True]


def test_probe_file_errors(tmp_path):
    tree = tt.read_tree(write_tree(tmp_path, [("S", "a"), ("a", "r1"), ("a", "r2")]))
    probes = tmp_path / "p.csv"
    probes.write_text("train,receiver,delay_s\n0,a,0.1\n")
    with pytest.raises(InvalidInputError, match="p.csv:2: receiver 'a' is an inner node"):
        tt.read_probes(probes, tree)
    probes.write_text("train,receiver,delay_s\n0,r1,0.1\n0,r2,0.2\n1,r1,0.3\n")
    delays, dropped = tt.read_probes(probes, tree)
    assert delays.tolist() == [[0.1, 0.2]] and dropped == 1


def test_cli_on_the_example(tmp_path):
    out = tmp_path / "delays.json"
    result = CliRunner().invoke(cli, ["measure", "tree-delays", str(EX / "tree-probes.csv"), str(EX / "tree.json"),
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["format"] == "topo-opt/link-delays" and len(doc["links"]) == 7
    for link in doc["links"]:  # M/M/1 queues binned at 0.1 ms, inferred on 0.68-ms bins: means agree
        assert link["mean_s"] == pytest.approx(link["mm1"]["mean_wait_s"], abs=0.2 * 0.00068 + 0.1 * link["mean_s"])
    bad = write_tree(tmp_path, [("S", "a"), ("a", "b"), ("S", "b")])
    result = CliRunner().invoke(cli, ["measure", "tree-delays", str(EX / "tree-probes.csv"), str(bad)])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "not a tree" in result.output
