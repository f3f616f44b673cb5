import pytest

from tfllm.objectives import OBJECTIVES, get_objective
from tfllm.objectives.registry import register


def test_phf_objectives_are_registered():
    assert {"mle", "filtering", "conditional", "unlikelihood", "rwr", "awr"} <= set(OBJECTIVES)


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown objective 'nope'; known objectives: .*'mle'"):
        get_objective("nope")


def test_unknown_option():
    with pytest.raises(ValueError, match="objective 'mle': bad options \\['alpha'\\]"):
        get_objective("mle", alpha=1.0)


@pytest.mark.parametrize("name, options, message", [
    ("unlikelihood", {"alpha": -1.0}, "alpha must be >= 0"),
    ("rwr", {"beta": 0.0}, "beta must be > 0"),
    ("awr", {"alpha": 1.5}, "alpha must be in \\[0, 1\\]"),
    ("awr", {"max_weight": 0.0}, "max_weight must be > 0"),
])
def test_bad_option_values(name, options, message):
    with pytest.raises(ValueError, match=message):
        get_objective(name, **options)


def test_register_twice_is_an_error():
    with pytest.raises(ValueError, match="objective 'mle' is registered twice"):
        register("mle")(object)


def test_options_reach_the_objective():
    objective = get_objective("awr", alpha=0.25, beta=2.0, max_weight=5.0)
    assert (objective.alpha, objective.beta, objective.max_weight) == (0.25, 2.0, 5.0)
