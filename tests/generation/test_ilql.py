"""Decoding an ILQLModel through the cached generation path: log_softmax(LM) +
beta * (min Qhat - V); beta = 0 is the LM's own decoding; a favoured token wins."""

import keras
import numpy as np
import pytest

from tfllm.generation import generate
from tfllm.generation.generate import _COMPILED
from tfllm.models import DecoderLM, ILQLModel

VOCAB = 29
PROMPTS = [[3, 7, 9], [5, 11], [8, 4, 4, 20]]


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(11)
    return ILQLModel(DecoderLM.from_preset("tiny", vocabulary_size=VOCAB,
                                           max_sequence_length=16), beta=2.0)


def test_beta_zero_decodes_as_the_lm(model):
    lm = generate(model.backbone, PROMPTS, 6)
    assert generate(model, PROMPTS, 6, ilql_beta=0.0) == lm
    assert len(_COMPILED[model]) == 1
    generate(model, PROMPTS, 6)  # the model's beta 2: a runtime input, no new program
    assert len(_COMPILED[model]) == 1


def test_a_token_the_target_q_heads_favour_is_emitted(model):
    favoured = 17
    lm_tokens = {t for row, prompt in zip(generate(model.backbone, PROMPTS, 6), PROMPTS)
                 for t in row[len(prompt):]}
    assert lm_tokens != {favoured}
    saved = [[w.numpy() for w in head.weights] for head in model.target_q_heads]
    try:
        for head in model.target_q_heads:
            head.kernel.assign(np.zeros(head.kernel.shape, "float32"))
            bias = np.zeros(VOCAB, "float32")
            bias[favoured] = 100.0
            head.bias.assign(bias)
        for row, prompt in zip(generate(model, PROMPTS, 6, ilql_beta=1.0), PROMPTS):
            assert row[len(prompt):] == [favoured] * 6
    finally:
        for head, weights in zip(model.target_q_heads, saved):
            head.set_weights(weights)


def test_ilql_beta_is_only_for_an_ilql_model(model):
    with pytest.raises(ValueError, match="ilql_beta is only for an ILQLModel"):
        generate(model.backbone, PROMPTS, 2, ilql_beta=1.0)
    with pytest.raises(ValueError, match="ilql_beta must be finite"):
        generate(model, PROMPTS, 2, ilql_beta=float("nan"))
