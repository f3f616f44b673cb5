"""Packed rows (segment_ids): each example computes what it computes alone, in the
model (attention within its segment, positions restarting) and through the chat
pipeline's packing (the same per-example loss)."""

import numpy as np
import pytest
import tensorflow as tf

from tfllm.data import prompts
from tfllm.layers.masks import segment_positions
from tfllm.models import DecoderLM
from tfllm.objectives.token_losses import model_inputs, token_log_probs
from tfllm.tokenizers import Tokenizer


def test_segment_positions_restart_per_segment():
    ids = np.array([[1, 1, 1, 2, 2, 3, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]], np.int32)
    assert segment_positions(ids).numpy().tolist() == [[0, 1, 2, 0, 1, 0, 0, 1],
                                                       list(range(8))]


@pytest.mark.parametrize("position", ["learned", "rotary", "sinusoidal"])
def test_a_packed_row_gives_each_example_its_logits_alone(position):
    model = DecoderLM(50, 2, 2, 16, 32, max_sequence_length=16, position=position)
    rng = np.random.default_rng(0)
    first, second = rng.integers(3, 50, 5), rng.integers(3, 50, 7)
    row = np.zeros((1, 16), np.int32)
    row[0, :5], row[0, 5:12] = first, second
    segments = np.array([[1] * 5 + [2] * 7 + [0] * 4], np.int32)
    packed = model({"token_ids": row, "padding_mask": segments > 0,
                    "segment_ids": segments}).numpy()[0]
    for example, at in ((first, 0), (second, 5)):
        alone = model(example[None].astype(np.int32)).numpy()[0]
        np.testing.assert_allclose(packed[at:at + len(example)], alone, atol=1e-5)
    # Without segment_ids the second example sees the first: the logits differ.
    unpacked = model({"token_ids": row, "padding_mask": segments > 0}).numpy()[0]
    assert np.abs(unpacked[5:12] - packed[5:12]).max() > 1e-3


def test_segment_ids_of_the_wrong_shape_are_refused():
    model = DecoderLM(50, 1, 2, 16, 32, max_sequence_length=16)
    with pytest.raises(ValueError, match=r"segment_ids has shape \(1, 3\), expected the "
                                         r"shape of token_ids \(1, 4\)"):
        model({"token_ids": np.ones((1, 4), np.int32),
               "segment_ids": np.ones((1, 3), np.int32)})


def _per_example_losses(model, batches):
    """{example's label tokens: its summed negative log-likelihood} over all batches."""
    losses = {}
    for batch in batches:
        log_probs = token_log_probs(model(model_inputs(batch)), batch["labels"]).numpy()
        segments = batch.get("segment_ids", tf.cast(batch["padding_mask"], tf.int32))
        for r, row in enumerate(segments.numpy()):
            for segment in set(row.tolist()) - {0}:
                where = (row == segment) & (batch["loss_mask"].numpy()[r] > 0)
                key = tuple(batch["labels"].numpy()[r][where].tolist())
                losses[key] = -log_probs[r][where].sum()
    return losses


def test_packed_chat_batches_give_each_example_its_loss_alone():
    tokenizer = Tokenizer.train([], None, kind="byte")
    records = [{"prompt": "p" * n, "response": "r" * (n % 4 + 1) + str(n)} for n in range(9)]
    records.append({"messages": [{"role": "user", "content": "q"},
                                 {"role": "assistant", "content": "a1"},
                                 {"role": "user", "content": "q2"},
                                 {"role": "assistant", "content": "a2"}]})
    model = DecoderLM(tokenizer.vocabulary_size, 2, 2, 16, 32, max_sequence_length=64,
                      position="rotary")
    options = dict(shuffle=False, drop_remainder=False)
    alone = list(prompts.make_chat_dataset(records, tokenizer, 64, 4, **options))
    packed = list(prompts.make_chat_dataset(records, tokenizer, 64, 4, pack=True, **options))
    assert sum(len(b["token_ids"]) for b in packed) < sum(len(b["token_ids"]) for b in alone)
    expected, got = _per_example_losses(model, alone), _per_example_losses(model, packed)
    assert len(expected) == len(records) and set(got) == set(expected)
    for key, loss in expected.items():
        assert got[key] == pytest.approx(loss, rel=1e-5)
