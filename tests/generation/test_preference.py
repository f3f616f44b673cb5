import numpy as np
import pytest

from tfllm.feedback import ScoredText
from tfllm.generation import preference
from tfllm.models import DecoderLM
from tfllm.tokenizers import ByteTokenizer

LETTERS = "abcdefghijklmnopqrstuvwxyz"


class CountZ:
    """Deterministic fake scorer: the share of 'z' characters (0 for empty text)."""

    name = "count_z"
    threshold = 0.0

    def score(self, texts):
        return [ScoredText([t], [s], s) for t, s in
                ((t, t.count("z") / len(t) if t else 0.0) for t in texts)]


@pytest.fixture(scope="module")
def tokenizer():
    return ByteTokenizer(control_tokens=preference.CONTROL_TOKENS)


@pytest.fixture(scope="module")
def rigged_lm(tokenizer):
    """An LM whose next-token logits are fixed: control tokens 10, letters 3, the rest -10.

    The final norm outputs the constant vector e0 (gamma 0, beta e0), so logits are
    column 0 of the tied embedding table.
    """
    model = DecoderLM.from_preset("tiny", vocabulary_size=tokenizer.vocabulary_size)
    table = model.token_embedding.embeddings.numpy()
    table[:, 0] = -10.0
    table[[tokenizer.encode(c)[0] for c in LETTERS], 0] = 3.0
    table[list(tokenizer.control_token_ids.values()), 0] = 10.0
    model.token_embedding.embeddings.assign(table)
    norm = model.decoder.final_norm
    norm.gamma.assign(np.zeros(norm.gamma.shape, "float32"))
    norm.beta.assign(np.eye(1, norm.beta.shape[0], dtype="float32")[0])
    return model


def test_banned_control_tokens_are_never_emitted(rigged_lm, tokenizer):
    texts = preference.sample(rigged_lm, tokenizer, [""] * 4, 12, control="<|good|>",
                              sampler="top_p", temperature=1.0, p=1.0, seed=3)
    # Each byte token decodes to one character, so a length of 12 means 12 letters.
    assert [len(t) for t in texts] == [12] * 4
    assert all(set(t) <= set(LETTERS) for t in texts)
    assert len(set(texts)) > 1


def test_without_the_ban_the_rigged_model_emits_control_tokens(rigged_lm, tokenizer):
    texts = preference.sample(rigged_lm, tokenizer, [""] * 4, 12, control="<|bad|>",
                              ban_control_tokens=False, sampler="top_p", p=0.9, seed=0)
    assert texts == [""] * 4  # p(control token) > 0.99: all control tokens, dropped by decode


def test_prompt_layout(tokenizer):
    good = tokenizer.control_token_ids["<|good|>"]
    assert preference.prompt_token_ids(tokenizer, ["a", ""], "<|good|>") == [
        [tokenizer.eos_id, good, tokenizer.encode("a")[0]], [tokenizer.eos_id, good]]
    with pytest.raises(ValueError, match="control token '<\\|meh\\|>' is not in"):
        preference.prompt_token_ids(tokenizer, ["a"], "<|meh|>")


def test_prompt_layout_each_line(tokenizer):
    good = tokenizer.control_token_ids["<|good|>"]
    a, nl, b = (tokenizer.encode(c)[0] for c in "a\nb")
    assert preference.prompt_token_ids(tokenizer, ["a\nb", "a\n", ""], "<|good|>",
                                       each_line=True) == [
        [tokenizer.eos_id, good, a, nl, good, b], [tokenizer.eos_id, good, a, nl],
        [tokenizer.eos_id, good]]


def test_control_each_line_follows_every_line_end(tokenizer):
    # A rigged LM where letters and "\n" are likely and control tokens are banned: the
    # control token must appear exactly after each "\n" (forced), nowhere else.
    model = DecoderLM.from_preset("tiny", vocabulary_size=tokenizer.vocabulary_size)
    table = model.token_embedding.embeddings.numpy()
    table[:, 0] = -10.0
    table[[tokenizer.encode(c)[0] for c in "ab\n"], 0] = 3.0
    model.token_embedding.embeddings.assign(table)
    norm = model.decoder.final_norm
    norm.gamma.assign(np.zeros(norm.gamma.shape, "float32"))
    norm.beta.assign(np.eye(1, norm.beta.shape[0], dtype="float32")[0])
    good = tokenizer.control_token_ids["<|good|>"]
    newline = tokenizer.encode("\n")[0]
    assert preference.line_end_token_ids(tokenizer) == [newline]
    prompts, outputs = preference.sample_token_ids(
        model, tokenizer, ["a\n"] * 4, 40, control="<|good|>", control_each_line=True,
        temperature=1.0, p=1.0, seed=0)
    assert prompts[0][-1] == newline
    for prompt, out in zip(prompts, outputs):
        assert out.count(newline) >= 3
        full = prompt + out
        for i in range(len(prompt), len(full)):
            assert (full[i] == good) == (full[i - 1] == newline), (i, full)
    plain = preference.sample_token_ids(model, tokenizer, ["a\n"] * 4, 40, control="<|good|>",
                                        temperature=1.0, p=1.0, seed=0)[1]
    assert all(good not in out for out in plain)
    with pytest.raises(ValueError, match="control_each_line needs a control token"):
        preference.sample_token_ids(model, tokenizer, [""], 4, control_each_line=True)


def test_best_of_n_returns_the_lowest_score(rigged_lm, tokenizer):
    options = dict(sampler="top_p", temperature=1.0, p=1.0, seed=11, control="<|good|>")
    prompts = ["", ""]
    best = preference.best_of_n(rigged_lm, tokenizer, CountZ(), prompts, 2, 12, **options)
    # The same call samples the same candidates: recompute them and their scores.
    candidates = preference.sample(rigged_lm, tokenizer, [""] * 4, 12, **options)
    for i, chosen in enumerate(best):
        group = candidates[2 * i:2 * (i + 1)]
        scores = [t.count("z") / len(t) for t in group]
        assert chosen.prompt == prompts[i]
        assert chosen.text == group[int(np.argmin(scores))]
        assert chosen.score == min(scores)
    assert len(set(candidates)) == 4


def test_rerank_sorts_each_group(rigged_lm, tokenizer):
    ranked = preference.rerank(rigged_lm, tokenizer, CountZ(), [""], 4, 12, sampler="top_p",
                               p=1.0, seed=2, control="<|good|>")
    scores = [s.score for s in ranked[0]]
    assert len(scores) == 4 and scores == sorted(scores) and scores[0] < scores[-1]
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        preference.rerank(rigged_lm, tokenizer, CountZ(), [""], 0, 12)


def test_token_penalty_bias(tokenizer):
    bias = preference.token_penalty_bias(tokenizer, CountZ(), 2.0, template="ab{}")
    z = tokenizer.encode("z")[0]
    # score("abz") - score("ab") = 1/3 for 'z', 0 for every other token.
    np.testing.assert_allclose(bias[z], -2.0 / 3.0, rtol=1e-6)
    assert np.count_nonzero(bias) == 1 and bias.shape == (tokenizer.vocabulary_size,)
    with pytest.raises(ValueError, match="must contain one"):
        preference.token_penalty_bias(tokenizer, CountZ(), 1.0, template="ab")


def test_control_token_report(rigged_lm, tokenizer):
    samples = preference.control_token_samples(rigged_lm, tokenizer, CountZ(), 4, 12,
                                               sampler="top_p", p=1.0, seed=0)
    assert list(samples) == ["<|good|>", "<|bad|>"] and all(len(g) == 4 for g in samples.values())
    report = preference.control_token_report(samples, "count_z")
    lines = report.splitlines()
    assert [line.split(":")[0] for line in lines[::2]] == [
        f"--- {c} sample {i}" for c in ("<|good|>", "<|bad|>") for i in (1, 2, 3, 4)]
    for header, text in zip(lines[::2], lines[1::2]):
        assert header.endswith(f"count_z score {text.count('z') / 12:.4f}")


def test_complete_lines_drops_an_unfinished_line(rigged_lm, tokenizer):
    # The rigged model writes letters only: no line is ever finished.
    texts = preference.sample(rigged_lm, tokenizer, [""] * 4, 12, control="<|good|>",
                              complete_lines=True, sampler="top_p", p=1.0, seed=3)
    assert texts == [""] * 4


def test_token_penalty_bias_steers_sampling(rigged_lm, tokenizer):
    options = dict(control="<|good|>", sampler="top_p", p=1.0, seed=5)
    plain = preference.sample(rigged_lm, tokenizer, [""] * 8, 12, **options)
    assert any("z" in t for t in plain)
    bias = preference.token_penalty_bias(tokenizer, CountZ(), 100.0, template="ab{}")
    steered = preference.sample_and_score(rigged_lm, tokenizer, CountZ(), [""] * 8, 12,
                                          logit_bias=bias, **options)
    assert all(len(s.text) == 12 and "z" not in s.text for s in steered)
    assert all(s.score == 0.0 for s in steered)
    best = preference.best_of_n(rigged_lm, tokenizer, CountZ(), [""], 2, 12, logit_bias=bias,
                                **options)
    assert "z" not in best[0].text
