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


if __name__ == "__main__":
    counters_example()
