"""Model cards: every shipped card loads, overrides apply, bad keys and values are named."""
from pathlib import Path

import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.solve.cards import load_card, validate_card
from topo_opt.solve.problems import PROBLEMS, RENAMED_KEYS

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.mark.parametrize("card", sorted(MODELS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_card_loads_with_a_known_problem(card):
    loaded = load_card(card)
    assert loaded.problem in PROBLEMS
    assert loaded.description


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_every_problem_has_a_runner(problem):
    assert callable(PROBLEMS[problem].run_function())


def test_renamed_keys_are_accepted_with_a_warning_naming_the_new_key(caplog):
    card = validate_card({"problem": "earp-min-power", "delay": {"include_fixed_delay": False},
                          "network": {"max_utilization": 0.8}, "solver": {"n_candidates": 3}}, "old.toml")
    assert card.get("objective.include_fixed_delay") is False
    assert card.get("constraints.max_utilization") == 0.8 and card.get("candidates.k_shortest") == 3
    assert "network" not in card.sections and "delay" not in card.sections
    assert "old.toml: 'solver.n_candidates' is deprecated, use 'candidates.k_shortest'" in caplog.text
    with pytest.raises(InvalidInputError, match="'power.profiles'"):
        validate_card({"problem": "ga", "objective": {"power_profiles": "a"}, "power": {"profiles": "b"}}, "x")


def test_an_old_key_given_with_set_overrides_the_new_key_of_the_card(caplog):
    card = load_card(MODELS / "capacity-min-delay-budget.toml", ("capacity.budget=5",))
    assert card.get("constraints.budget") == 5.0
    assert "'capacity.budget' is deprecated, use 'constraints.budget'" in caplog.text


def test_an_old_spelling_in_the_card_warns_once_and_yields_to_set_and_options(tmp_path, caplog):
    old_key = tmp_path / "old-key.toml"
    old_key.write_text('problem = "capacity-min-delay-budget"\n[capacity]\nbudget = 5.0\n')
    assert load_card(old_key, ("constraints.budget=7",)).get("constraints.budget") == 7.0
    assert caplog.text.count("'capacity.budget' is deprecated") == 1
    caplog.clear()
    old_value = tmp_path / "old-value.toml"
    old_value.write_text('problem = "min-delay"\n[solver]\nmethod = "flow_deviation"\n')
    card = load_card(old_value, ("solver.gap=1e-5",), {"solver.time_limit_s": ("--time-limit", 9.0)})
    assert (card.get("solver.method"), card.get("solver.gap"), card.get("solver.time_limit_s")) == \
        ("flow-deviation", 1e-5, 9.0)
    assert caplog.text.count("is deprecated") == 1


@pytest.mark.parametrize("old, new", [("gradient_projection", "gradient-projection"),
                                      ("path_equilibration", "path-equilibration"),
                                      ("outer_approximation", "outer-approximation"),
                                      ("flow_deviation", "flow-deviation")])
def test_old_method_spellings_are_read_as_kebab_case_with_a_warning(caplog, old, new):
    card = load_card(MODELS / "min-delay.toml", (f'solver.method="{old}"',))
    assert card.get("solver.method") == new
    assert f"solver.method = '{old}' is deprecated, use '{new}'" in caplog.text
    caplog.clear()
    assert load_card("min-delay", options={"solver.method": ("--method", old)}).get("solver.method") == new
    assert f"is deprecated, use '{new}'" in caplog.text


def test_method_names_are_kebab_case():
    for problem in PROBLEMS.values():
        allowed = problem.schema.get("solver", {}).get("method", (None, None, ()))[2]
        for name in (*allowed, *problem.interruptible):
            assert name == name.lower() and not set(name) & set("_:+ "), (problem.name, name)


@pytest.mark.parametrize("problem", sorted(RENAMED_KEYS))
def test_renamed_keys_exist_under_their_new_names_only(problem):
    schema = PROBLEMS[problem].schema
    for old, new in RENAMED_KEYS[problem].items():
        (old_section, old_key), (new_section, new_key) = old.split("."), new.split(".")
        assert new_key in schema[new_section] and old_key not in schema.get(old_section, {})


def test_one_key_per_concept_across_problems():
    """A key name means one thing: its sections agree across problems (no network.max_utilization
    next to constraints.max_utilization)."""
    sections: dict[str, set[str]] = {}
    for problem in PROBLEMS.values():
        for section, keys in problem.schema.items():
            for key in ("max_utilization", "include_fixed_delay", "profiles", "max_simple_paths", "max_delay_s"):
                if key in keys:
                    sections.setdefault(key, set()).add(section)
    assert sections == {"max_utilization": {"constraints"}, "include_fixed_delay": {"objective"},
                        "profiles": {"power"}, "max_simple_paths": {"candidates"},
                        "max_delay_s": {"constraints", "deadline"}}  # deadline: worst case


def test_overrides_use_dotted_keys_and_toml_values():
    card = load_card(MODELS / "min-delay.toml", ("solver.gap=1e-5", "solver.method=flow-deviation",
                                                 "objective.include_fixed_delay=false"))
    assert card.get("solver.gap") == 1e-5
    assert card.get("solver.method") == "flow-deviation"
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
