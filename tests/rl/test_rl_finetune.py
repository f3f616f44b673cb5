"""tfllm-rl-finetune pieces: the LM gains a value head without changing its logits."""

import numpy as np

from tfllm.bin.rl_finetune import with_value_head


def test_with_value_head_keeps_the_lm(toy):
    lm = toy.tiny_lm(value_head=False, seed=4)
    model = with_value_head(lm)
    tokens = np.array([[1, 5, 3, 4]], np.int32)
    np.testing.assert_allclose(model(tokens), lm(tokens), atol=1e-6)
    _, hidden = model.call_with_hidden(tokens)
    np.testing.assert_array_equal(model.value_head(hidden), np.zeros((1, 4)))
    assert with_value_head(model) is model
