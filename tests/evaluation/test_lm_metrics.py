"""evaluate_lm: token-weighted loss and accuracy, and bits per byte and per character of the
counted labels."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfllm.evaluation.lm_metrics import evaluate_lm
from tfllm.models import DecoderLM
from tfllm.tokenizers import ByteTokenizer


def test_loss_and_bits_per_byte_equal_a_hand_computation():
    model = DecoderLM(vocabulary_size=12, num_layers=1, num_heads=2, hidden_dim=8,
                      intermediate_dim=16, max_sequence_length=6)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 12, (4, 7)).astype(np.int32)
    mask = (rng.random((4, 6)) < 0.7).astype(np.float32)
    mask[:, 0] = 1
    batches = tf.data.Dataset.from_tensor_slices({
        "token_ids": tokens[:, :-1], "labels": tokens[:, 1:],
        "padding_mask": np.ones((4, 6), bool), "loss_mask": mask}).batch(2)
    lengths = np.array([0, 0, 1, 1, 2, 3, 1, 4, 1, 1, 2, 1])
    metrics = evaluate_lm(model, batches, token_byte_lengths=lengths)
    logits = np.asarray(model(tokens[:, :-1]), np.float64)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, tokens[:, 1:, None], -1)[..., 0]
    assert metrics["loss"] == pytest.approx((nll * mask).sum() / mask.sum(), rel=1e-5)
    size = (lengths[tokens[:, 1:]] * mask).sum()
    assert metrics["bytes"] == size and metrics["batches"] == 2
    assert metrics["bits_per_byte"] == pytest.approx((nll * mask).sum() / (size * math.log(2)),
                                                     rel=1e-5)
    assert "bits_per_byte" not in evaluate_lm(model, batches)


def test_bits_per_character_is_bits_per_byte_times_bytes_per_character():
    tokenizer = ByteTokenizer(control_tokens=("<|good|>",))
    text = "héllo wörld ✓\n"  # 14 characters, 18 bytes (é, ö: 2 bytes; ✓: 3)
    ids = np.array([[tokenizer.bos_id, tokenizer.control_token_ids["<|good|>"]]
                    + tokenizer.encode(text)], np.int32)
    batches = tf.data.Dataset.from_tensor_slices({
        "token_ids": ids[:, :-1], "labels": ids[:, 1:],
        "padding_mask": np.ones((1, 19), bool), "loss_mask": np.ones((1, 19), np.float32)})
    model = DecoderLM(vocabulary_size=tokenizer.vocabulary_size, num_layers=1, num_heads=2,
                      hidden_dim=8, intermediate_dim=16, max_sequence_length=19)
    metrics = evaluate_lm(model, batches.batch(1), 0, tokenizer.token_byte_lengths(),
                          tokenizer.token_character_lengths(),
                          ignored_label_ids=[tokenizer.control_token_ids["<|good|>"]])
    assert (metrics["tokens"], metrics["bytes"], metrics["characters"]) == (18, 18, 14)
    assert metrics["bits_per_character"] / metrics["bits_per_byte"] == pytest.approx(18 / 14)
    assert metrics["bits_per_byte"] == pytest.approx(metrics["loss"] / math.log(2))
    counted = evaluate_lm(model, batches.batch(1))  # the control-token label counts here
    assert counted["tokens"] == 19 and "bits_per_character" not in counted
