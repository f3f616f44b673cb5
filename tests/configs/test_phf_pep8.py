import importlib.util
import pathlib

import pytest

from tfllm.objectives import get_objective

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def phf_pep8():
    spec = importlib.util.spec_from_file_location("phf_pep8", ROOT / "configs" / "phf_pep8.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["mle", "filtering", "conditional", "unlikelihood", "rwr",
                                  "awr"])
def test_every_objective_builds(phf_pep8, name):
    config = phf_pep8.get_config(name)
    objective = get_objective(config.objective.name, **dict(config.objective.options))
    assert callable(objective)
    assert config.model.value_head == (name == "awr")
    assert tuple(config.tokenizer.control_tokens) == ("<|good|>", "<|bad|>")
    # The data-side transform belongs to exactly its objective.
    assert (config.data.filter_threshold is not None) == (name == "filtering")
    assert config.data.control_tokens == (name == "conditional")
    assert (config.evaluation.control == "<|good|>") == (name == "conditional")
    assert config.sampling.show_control_tokens == (name == "conditional")


def test_paper_values(phf_pep8):
    """The values of the paper's configs/pep8/*.yml (see the config's docstring)."""
    conditional = phf_pep8.get_config("conditional")
    assert conditional.data.drop_token_probability == 0.1
    assert conditional.data.control_threshold == 0.0
    filtering = phf_pep8.get_config("filtering").data
    assert (filtering.filter_threshold, filtering.filter_score) == (0.002361, "segment_mean")
    assert dict(phf_pep8.get_config("unlikelihood").objective.options) == {
        "threshold": 0.0, "alpha": 0.01}
    assert dict(phf_pep8.get_config("rwr").objective.options) == {
        "beta": 10.0, "max_weight": 1000.0}
    assert dict(phf_pep8.get_config("awr").objective.options) == {
        "alpha": 0.05, "beta": 1.0, "max_weight": 1000.0}
    for name in phf_pep8.OBJECTIVES:
        e = phf_pep8.get_config(name).evaluation
        assert (e.temperature, e.top_p) == (0.7, 0.9)
    # Samples must fit the positions the model was trained on (learned positions).
    assert conditional.evaluation.max_new_tokens + 2 <= conditional.data.sequence_length
    assert conditional.sampling.max_new_tokens + 2 <= conditional.data.sequence_length
    assert (conditional.evaluation.max_prompt_tokens  # counts <eos> and control tokens
            + conditional.evaluation.prompted_max_new_tokens <= conditional.data.sequence_length)


def test_shared_budget(phf_pep8):
    configs = [phf_pep8.get_config(name) for name in phf_pep8.OBJECTIVES]
    assert len({(c.training.steps, c.training.batch_size, c.data.sequence_length)
                for c in configs}) == 1


def test_default_is_conditional_and_unknown_is_an_error(phf_pep8):
    assert phf_pep8.get_config().objective.name == "conditional"
    with pytest.raises(ValueError, match="unknown objective 'dpo'"):
        phf_pep8.get_config("dpo")


def test_overrides_parse_like_the_command_line(phf_pep8):
    config = phf_pep8.get_config("mle")
    config.data.filter_percentile = 90.0  # a placeholder(float) accepts a float
    assert config.data.filter_percentile == 90.0
