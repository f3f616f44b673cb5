import ast
import json
import os

import ml_collections
import numpy as np
import pytest
import tensorflow as tf

from tfllm.evaluation import phf
from tfllm.generation.preference import ScoredSample
from tfllm.models import DecoderLM
from tfllm.tokenizers import ByteTokenizer


def test_misalignment_metrics_by_hand():
    samples = [ScoredSample("", "abcd", 0.5), ScoredSample("", "ab", 0.0),
               ScoredSample("", "abcdef", 0.1)]
    m = phf.misalignment_metrics(samples, threshold=0.0)
    assert m["misalignment"] == pytest.approx(0.2)
    assert m["misalignment_per_char"] == pytest.approx((0.5 * 4 + 0.1 * 6) / 12)
    assert m["over_threshold"] == pytest.approx(2 / 3)
    assert m["mean_chars"] == pytest.approx(4.0)


class Bigram:
    """logits[t] = TABLE[token_ids[t]]: the next-token distribution depends on one token."""

    TABLE = np.log(np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25],
                             [0.7, 0.1, 0.1, 0.1], [0.4, 0.3, 0.2, 0.1]]))

    def __call__(self, inputs, training=None):
        return tf.gather(tf.constant(self.TABLE, tf.float32), inputs["token_ids"])


def test_continuation_log_probs_by_hand():
    p = np.exp(Bigram.TABLE)
    lp, counts = phf.continuation_log_probs(Bigram(), [[1], [2, 3]], [[3, 0], [1]])
    # row 0: p(3 | 1) p(0 | 3); row 1 (prompt 2 3): p(1 | 3). The prompt is not counted.
    np.testing.assert_allclose(lp, np.log([p[1, 3] * p[3, 0], p[3, 1]]), rtol=1e-5)
    np.testing.assert_array_equal(counts, [2, 1])
    banned, _ = phf.continuation_log_probs(Bigram(), [[1]], [[3, 0]], banned_token_ids=[2])
    # token 2 removed: p(3 | 1) = .25 / .75, p(0 | 3) = .4 / .8
    np.testing.assert_allclose(banned, [np.log(0.25 / 0.75 * 0.4 / 0.8)], rtol=1e-5)


def _config(tmp_path):
    config = ml_collections.ConfigDict()
    config.data = dict(corpus="python_stdlib_code", max_files=120, sequence_length=32,
                       shuffle_seed=0, control_tokens=False, control_threshold=0.0,
                       drop_token_probability=0.0)
    config.training = dict(batch_size=2)
    config.evaluation = dict(mode="phf", scorer="pep8", num_samples=3, max_new_tokens=8,
                             temperature=0.7, top_p=0.9, seed=0, control="", num_prompts=3,
                             max_prompt_tokens=120, batches=2, leakage_span=20)
    return config


def test_evaluate_writes_results_and_kl_to_itself_is_zero(tmp_path):
    tokenizer = ByteTokenizer()  # no control tokens: nothing banned, so KL(model||model) = 0
    model = DecoderLM.from_preset("tiny", vocabulary_size=tokenizer.vocabulary_size,
                                   max_sequence_length=160)
    config = _config(tmp_path)
    metrics = phf.evaluate(config, model, tokenizer, str(tmp_path))
    assert not any(key.startswith("kl/") for key in metrics)  # no reference model given
    prompts = [""] * 3 + [s["prompt"] for s in json.load(
        open(os.path.join(tmp_path, "eval", "samples.json")))["prompted"]]
    kl = phf.kl_from_reference(config, model, model, tokenizer, prompts)
    assert kl == pytest.approx({"per_sample": 0.0, "per_token": 0.0}, abs=1e-5)
    # An untrained model is near uniform over 261 ids: loss about log(261).
    assert abs(metrics["validation/loss"] - np.log(261)) < 0.3
    assert metrics["validation/perplexity"] == pytest.approx(np.exp(metrics["validation/loss"]))
    assert 0.0 <= metrics["unconditional/over_threshold"] <= 1.0
    assert {"diversity/distinct_2", "diversity/self_bleu", "prompted/misalignment"} <= set(metrics)
    with open(os.path.join(tmp_path, "eval", "metrics.json")) as f:
        assert json.load(f) == pytest.approx(metrics)
    with open(os.path.join(tmp_path, "eval", "samples.json")) as f:
        samples = json.load(f)
    assert len(samples["unconditional"]) == 3 and len(samples["prompted"]) == 3
    for sample in samples["prompted"]:  # a held-out function's signature and docstring
        assert sample["prompt"].startswith(("def ", "async def "))
        function = ast.parse(sample["prompt"] + "    pass\n").body[0]
        assert ast.get_docstring(function)
    assert 0.0 <= metrics["leakage/unconditional"] <= 1.0
    for group in ("unconditional", "prompted"):  # capability.python_metrics of each
        empty = metrics[f"{group}/empty_samples"]
        assert metrics[f"{group}/empty_share"] == pytest.approx(empty / 3)
        for share in ("parse_share", "tokenizing_line_share"):
            assert 0.0 <= metrics[f"{group}/{share}"] <= 1.0 - empty / 3 + 1e-9
    # validation: the same loss over characters as over bytes
    assert metrics["validation/bits_per_character"] == pytest.approx(
        metrics["validation/bits_per_byte"] * metrics["validation/bytes"]
        / metrics["validation/characters"])
    assert (metrics["unconditional/misalignment_per_char_low"]
            <= metrics["unconditional/misalignment_per_char"]
            <= metrics["unconditional/misalignment_per_char_high"])
    assert os.listdir(os.path.join(tmp_path, "tensorboard", "eval"))


def test_control_each_line_reports_both_protocols(tmp_path):
    tokenizer = ByteTokenizer(control_tokens=("<|good|>", "<|bad|>"))
    model = DecoderLM.from_preset("tiny", vocabulary_size=tokenizer.vocabulary_size,
                                   max_sequence_length=160)
    config = _config(tmp_path)
    config.evaluation.control = "<|good|>"
    config.evaluation.control_each_line = True
    metrics = phf.evaluate(config, model, tokenizer, str(tmp_path))
    for protocol in ("", "start_only/"):
        for group in ("unconditional", "prompted"):
            assert f"{protocol}{group}/misalignment_per_char" in metrics
    config.evaluation.control_each_line = False
    assert not any(k.startswith("start_only/")
                   for k in phf.evaluate(config, model, tokenizer, str(tmp_path)))
