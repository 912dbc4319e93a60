"""Regenerate the synthetic measurement examples of this folder (deterministic, seeded).

    PYTHONPATH=. python examples/measure/make_examples.py
"""
from pathlib import Path

from topo_opt.io.detect import read_instance, write_instance
from topo_opt.measure import synthetic

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def counters_example() -> None:
    """abilene: one day of 32-bit counters every 5 min, and the instance they were taken on."""
    network = read_instance(ROOT / "instances" / "abilene.json")
    syn = synthetic.synthetic_counters(network, seed=1)
    (HERE / "abilene-counters.csv").write_text(syn.csv)
    write_instance(synthetic.scaled_instance(network, syn.scale), HERE / "abilene-measured.json", format="json")


def tree_example() -> None:
    """A binary tree of 4 receivers whose links are M/M/1 queues (10 Mbit/s, 1500-byte packets)
    at the loads in the tree file; 2000 back-to-back trains."""
    import json

    import numpy as np

    capacity, length = 10e6, 12000.0
    load = np.array([0.2, 0.5, 0.1, 0.6, 0.3, 0.05, 0.4]) * capacity
    tree = synthetic.binary_tree(4, capacity, load)
    bin_s = 1e-4
    pmf = np.array([synthetic.mm1_wait_pmf(rho, length / capacity, bin_s, 200) for rho in load / capacity])
    delays = synthetic.sample_tree_delays(tree, pmf, bin_s, 2000, seed=3, fixed_s=0.004)
    doc = {"format": "topo-opt/probe-tree", "version": 1, "root": tree.root, "packet_length_bits": length,
           "links": [{"id": i, "parent": p, "child": c, "capacity_bps": capacity, "load_bps": float(x)}
                     for i, p, c, x in zip(tree.links, tree.parent, tree.child, load)]}
    (HERE / "tree.json").write_text(json.dumps(doc, indent=1) + "\n")
    rows = ["train,receiver,delay_s"] + [f"{t},{r},{d:.7f}" for t, row in enumerate(delays)
                                         for r, d in zip(tree.receivers, row)]
    (HERE / "tree-probes.csv").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    counters_example()
    tree_example()
