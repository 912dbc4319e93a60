"""Model cards: every shipped card loads, overrides apply, bad keys and values are named."""
from pathlib import Path

import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.solve.cards import SCHEMAS, load_card
from topo_opt.solve.dispatch import RUNNERS

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.mark.parametrize("card", sorted(MODELS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_card_loads_with_a_known_problem(card):
    loaded = load_card(card)
    assert loaded.problem in SCHEMAS
    assert loaded.description


def test_every_problem_has_a_runner():
    assert set(RUNNERS) == set(SCHEMAS)


def test_overrides_use_dotted_keys_and_toml_values():
    card = load_card(MODELS / "min-delay.toml", ("solver.gap=1e-5", "solver.method=flow_deviation",
                                                 "objective.include_fixed_delay=false"))
    assert card.get("solver.gap") == 1e-5
    assert card.get("solver.method") == "flow_deviation"
    assert card.get("objective.include_fixed_delay") is False


def test_integer_is_accepted_where_a_float_is_declared():
    assert load_card(MODELS / "min-delay.toml", ("solver.time_limit_s=5",)).get("solver.time_limit_s") == 5.0


@pytest.mark.parametrize("override, match", [
    ("solver.gapp=1", r"with --set: unknown key 'solver.gapp'"),
    ("solverr.gap=1", r"unknown key 'solverr'"),
    ("solver.gap=abc", r"solver.gap must be of type float, got 'abc'"),
    ("solver.gap=-1", r"solver.gap must be a number >= 0, got -1.0"),
    ("solver.gap=nan", r"solver.gap must be a number >= 0, got nan"),
    ("solver.method=simplex", r"solver.method must be one of auto, .*got 'simplex'"),
    ("solver.max_iterations=true", r"solver.max_iterations must be of type int"),
    ("gap", r"expected KEY=VALUE"),
])
def test_bad_overrides_name_the_key_and_value(override, match):
    with pytest.raises(InvalidInputError, match=match):
        load_card(MODELS / "min-delay.toml", (override,))


def test_bad_card_files(tmp_path):
    missing = tmp_path / "none.toml"
    with pytest.raises(InvalidInputError, match=r"none.toml: model card not found"):
        load_card(missing)
    broken = tmp_path / "broken.toml"
    broken.write_text('problem = "min-delay"\n[solver\n')
    with pytest.raises(InvalidInputError, match=r"broken.toml: invalid TOML: .*line 2"):
        load_card(broken)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('problem = "min-delay"\n[solver]\nthreads = 4\n')
    with pytest.raises(InvalidInputError, match=r"unknown.toml: unknown key 'solver.threads'"):
        load_card(unknown)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('problem = "max-flow"\n')
    with pytest.raises(InvalidInputError, match=r"wrong.toml: problem must be one of .*'max-flow'"):
        load_card(wrong)
