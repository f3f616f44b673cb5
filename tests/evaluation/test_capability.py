"""capability.evaluate (tfllm-evaluate mode "lm"): the split's bits per byte and character,
and on a Python code corpus the code measures of unconditional and prompted samples."""

import ml_collections
import pytest

from tfllm.evaluation import capability
from tfllm.models import DecoderLM
from tfllm.tokenizers import ByteTokenizer


def _config(**evaluation):
    config = ml_collections.ConfigDict()
    config.data = dict(corpus="python_stdlib_code", files="", max_files=60, sequence_length=32,
                       shuffle_seed=0)
    config.training = dict(batch_size=2)
    config.evaluation = dict(mode="lm", split="validation", batches=1, **evaluation)
    return config


def _body_indent(prompt):
    """The indentation of a prompt's docstring line: where its function body continues."""
    last = prompt.splitlines()[-1]
    return last[:len(last) - len(last.lstrip())]


def test_code_measures_of_fixed_continuations(monkeypatch):
    calls = []

    def sample(model, tokenizer, prompts, max_new_tokens, **options):
        calls.append((prompts, max_new_tokens, options))
        if not any(prompts):  # parses; an unclosed bracket; no complete line (empty)
            return ["x = 1\n", "y = (\n", "z"]
        return [_body_indent(prompts[0]) + "return 1\n", "",
                _body_indent(prompts[2]) + "return (\n"]

    monkeypatch.setattr(capability.preference, "sample", sample)
    tokenizer = ByteTokenizer()
    model = DecoderLM.from_preset("tiny", vocabulary_size=tokenizer.vocabulary_size,
                                  max_sequence_length=160)
    metrics, samples = capability.evaluate(_config(num_samples=3, num_prompts=3), model,
                                           tokenizer)
    assert samples["unconditional"] == ["x = 1\n", "y = (\n", "z"]
    assert samples["prompted"][1] == calls[1][0][1]  # the prompt: its continuation was empty
    for group in ("unconditional", "prompted"):
        assert metrics[f"{group}/parse_share"] == pytest.approx(1 / 3)
        assert metrics[f"{group}/tokenizing_line_share"] == pytest.approx(1 / 3)
        assert metrics[f"{group}/empty_samples"] == 1
        assert metrics[f"{group}/empty_share"] == pytest.approx(1 / 3)
    # max_new_tokens defaults to min(64, half the context), prompts fill the rest
    (unconditional, new, options), (prompts, prompted_new, _) = calls
    assert unconditional == [""] * 3 and new == prompted_new == 64
    assert all(len(tokenizer.encode(p)) + 1 <= 160 - 64 for p in prompts)
    assert options == dict(sampler="top_p", temperature=0.7, p=0.9, seed=0)
    # byte tokens: bits per character = bits per byte x bytes / characters
    assert metrics["bits_per_character"] == pytest.approx(
        metrics["bits_per_byte"] * metrics["bytes"] / metrics["characters"])


def test_groups_follow_the_config():
    tokenizer = ByteTokenizer()
    assert capability.prompt_groups(_config(num_samples=0, num_prompts=0), tokenizer, 64) == {}
    with pytest.raises(ValueError, match=r"at most 5 tokens \(config.evaluation.num_prompts=0"):
        capability.prompt_groups(_config(max_prompt_tokens=5), tokenizer, 64)
    assert capability.is_code_corpus(_config())
    assert capability.is_code_corpus(ml_collections.ConfigDict(
        {"data": {"corpus": "python_installed_code"}}))
    assert not capability.is_code_corpus(ml_collections.ConfigDict(
        {"data": {"corpus": "python_docs_text"}}))
    assert not capability.is_code_corpus(ml_collections.ConfigDict(
        {"data": {"corpus": "python_stdlib_code", "files": "mine.py"}}))
