"""tfllm.evaluation.seq2seq: baselines, sampler/baseline config errors, the source-shuffled
NLL, and evaluate() on a tiny model (metric keys, hand-checked baseline scores)."""

import ml_collections
import numpy as np
import pytest
import tensorflow as tf

from tfllm.evaluation import seq2seq
from tfllm.tokenizers import Tokenizer


def config(**evaluation):
    return ml_collections.ConfigDict({
        "data": {"max_source_length": 32, "max_target_length": 8, "shuffle_seed": 0,
                 "corpus": "", "test_file": ""},
        "training": {"batch_size": 4},
        "evaluation": {"max_new_tokens": 3, "num_beams": 2, "length_penalty": 0.6,
                       "max_examples": 0, **evaluation}})


def test_function_name_baseline():
    assert seq2seq.function_name_words("def get_file_name(self):\n    pass\n") == \
        "Get file name."
    assert seq2seq.function_name_words("async def readHTTPHeader(x):\n") == "Read http header."
    assert seq2seq.function_name_words("x = 1\n") == ""
    assert seq2seq.BASELINES["copy"]("le chat") == "le chat"


def test_samplers_and_baseline_of_the_config():
    assert seq2seq.samplers(config().evaluation) == ("greedy",)  # no field: greedy
    assert seq2seq.samplers(config(sampler="beam").evaluation) == ("beam",)
    assert seq2seq.samplers(config(samplers=("greedy", "beam"), sampler="beam").evaluation) \
        == ("greedy", "beam")  # samplers wins
    for samplers in ((), ("greedy", "top_k")):
        with pytest.raises(ValueError, match=r"config\.evaluation\.samplers=.*'greedy' and/or"):
            seq2seq.check_config(config(samplers=samplers))
    with pytest.raises(ValueError, match=r"config\.evaluation\.sampler='top_p': expected"):
        seq2seq.check_config(config(sampler="top_p"))
    assert seq2seq.baseline(config().evaluation) == ""
    with pytest.raises(ValueError, match=r"config\.evaluation\.baseline='names': expected one "
                                         r"of \['copy', 'function_name'\] or ''"):
        seq2seq.check_config(config(baseline="names"))


def test_source_shuffled_losses_tell_a_copying_model_from_a_blind_one():
    """A model that copies its source: loss ~0 on true pairs, high when the sources are
    shuffled; a model that never looks at the source: the same loss both ways (uniform
    logits: exactly log(vocabulary))."""
    c = config()
    tokenizer = Tokenizer.train([], None, kind="byte")
    vocabulary = tokenizer.vocabulary_size
    words = ["cat", "dog", "owl", "ant"] * 2
    pairs = [(w, w) for w in words]  # target = source: copying is perfect

    def copying(inputs, training=False):
        source = inputs["encoder_token_ids"]
        length = inputs["decoder_token_ids"].shape[1]
        labels = np.zeros(source.shape[:1] + (length,), np.int64)
        labels[:, :3] = source[:, :3]
        labels[:, 3] = tokenizer.eos_id  # every word has 3 bytes
        return tf.one_hot(labels, vocabulary) * 30.0

    def blind(inputs, training=False):
        return tf.zeros(inputs["decoder_token_ids"].shape + (vocabulary,))

    true, shuffled = seq2seq.source_shuffled_losses(copying, tokenizer, pairs, c, seed=1)
    assert true < 1e-6 and shuffled > 5.0
    true, shuffled = seq2seq.source_shuffled_losses(blind, tokenizer, pairs, c)
    assert true == pytest.approx(np.log(vocabulary)) and shuffled == pytest.approx(true)
    with pytest.raises(ValueError, match="fewer than one batch"):
        seq2seq.source_shuffled_losses(blind, tokenizer, pairs[:3], c)


def test_evaluate_a_tiny_model():
    """Every sampler's and the baseline's scores, the NLLs and the samples; the "copy"
    baseline of pairs whose target is the source scores BLEU 100 and ROUGE-L 1; the NLL is
    None with fewer pairs than one batch."""
    from tfllm.models import Seq2SeqTransformer

    tokenizer = Tokenizer.train([], None, kind="byte")
    model = Seq2SeqTransformer(vocabulary_size=tokenizer.vocabulary_size,
                               num_encoder_layers=1, num_decoder_layers=1, num_heads=2,
                               hidden_dim=8, intermediate_dim=16, max_sequence_length=32)
    pairs = [(w, w) for w in ("the cat is here", "a dog ran off", "an owl can see",
                              "my ant is red", "one bee flew by")]  # 4-grams: BLEU > 0
    c = config(samplers=("greedy", "beam"), baseline="copy")
    metrics = seq2seq.evaluate(c, model, tokenizer, pairs)
    assert metrics["examples"] == 5
    assert metrics["baseline_copy/bleu"] == pytest.approx(100.0)
    assert metrics["baseline_copy/rougeL"] == pytest.approx(1.0)
    for sampler in ("greedy", "beam"):
        assert 0.0 <= metrics[f"{sampler}/bleu"] <= 100.0
        assert 0.0 <= metrics[f"{sampler}/rougeL"] <= 1.0
    assert (metrics["bleu"], metrics["rougeL"]) == (metrics["greedy/bleu"],
                                                    metrics["greedy/rougeL"])
    true, shuffled = seq2seq.source_shuffled_losses(model, tokenizer, pairs, c)
    assert (metrics["token_nll"], metrics["token_nll_shuffled_sources"]) == (true, shuffled)
    assert len(metrics["samples"]) == 5
    assert set(metrics["samples"][0]) == {"source", "reference", "greedy", "beam", "baseline"}
    assert metrics["samples"][1]["baseline"] == "a dog ran off"
    assert metrics["samples"][0]["greedy"] == seq2seq.decode(model, tokenizer, ["the cat is here"],
                                                             "greedy", c)[0]
    few = seq2seq.evaluate(config(), model, tokenizer, pairs[:3])
    assert few["token_nll"] is None and few["token_nll_shuffled_sources"] is None
    assert "baseline" not in few["samples"][0] and set(few) >= {"greedy/bleu", "bleu"}
    with pytest.raises(ValueError, match="no test pairs"):
        seq2seq.evaluate(config(), model, tokenizer, [])
