"""Seq2seq cross-entropy with label smoothing and scheduled sampling.

Scheduled sampling for Transformers (Bengio et al. 2015; two-pass variant of
Mihaylova & Martins 2019): a first, gradient-free pass over the gold decoder inputs
gives the model's greedy prediction for every position; each decoder input after the
first is then replaced by that prediction with probability 1 - teacher_forcing_ratio,
and the loss is taken on a second pass over the mixed inputs.
"""

import keras
import tensorflow as tf
from keras import ops

from tfllm.objectives import token_losses
from tfllm.objectives.registry import register

SEQ2SEQ_KEYS = ("encoder_token_ids", "decoder_token_ids", "labels", "loss_mask")
MODEL_KEYS = ("encoder_token_ids", "encoder_padding_mask", "decoder_token_ids",
              "decoder_padding_mask")


def smoothed_cross_entropy(logits, labels, label_smoothing):
    """Per-token cross-entropy against (1 - eps) one-hot + eps / vocab, float32 (B, T)."""
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    nll = -ops.take_along_axis(log_probs, ops.cast(labels, "int32")[..., None], axis=-1)[..., 0]
    if not label_smoothing:
        return nll
    return (1.0 - label_smoothing) * nll - label_smoothing * ops.mean(log_probs, axis=-1)


@register("seq2seq")
class Seq2SeqCrossEntropy:
    """Teacher-forced (or scheduled-sampling) cross-entropy of a Seq2SeqTransformer.

    The ratio of gold decoder inputs goes linearly from `teacher_forcing_ratio` to
    `final_teacher_forcing_ratio` over `decay_steps` training calls (counted by
    `self.step`, a tf.Variable the Trainer checkpoints), then stays there.

    Args:
        label_smoothing: epsilon in [0, 1).
        teacher_forcing_ratio: probability that a decoder input is the gold token (1.0:
            plain teacher forcing, one pass).
        final_teacher_forcing_ratio: the ratio after decay (default: no decay).
        decay_steps: length of the linear decay in training calls.
        seed: seed of the replacement draws.

    Metrics: loss (smoothed), token_loss (plain NLL; perplexity = exp), accuracy, tokens,
    teacher_forcing_ratio.
    """

    name = "seq2seq"

    def __init__(self, label_smoothing=0.0, teacher_forcing_ratio=1.0,
                 final_teacher_forcing_ratio=None, decay_steps=0, seed=None):
        final = teacher_forcing_ratio if final_teacher_forcing_ratio is None \
            else final_teacher_forcing_ratio
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"seq2seq objective: label_smoothing {label_smoothing} "
                             "must be in [0, 1)")
        for key, value in (("teacher_forcing_ratio", teacher_forcing_ratio),
                           ("final_teacher_forcing_ratio", final)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"seq2seq objective: {key} {value} must be in [0, 1]")
        if decay_steps < 0:
            raise ValueError(f"seq2seq objective: decay_steps {decay_steps} must be >= 0")
        self.label_smoothing = float(label_smoothing)
        self.initial_ratio = float(teacher_forcing_ratio)
        self.final_ratio = float(final)
        self.decay_steps = int(decay_steps)
        self.scheduled = self.initial_ratio < 1.0 or self.final_ratio < 1.0
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="seq2seq_step")
        self.seed = keras.random.SeedGenerator(seed) if self.scheduled else None

    def teacher_forcing_ratio(self):
        """The current ratio of gold decoder inputs (float32 scalar)."""
        if not self.decay_steps:
            return ops.convert_to_tensor(self.final_ratio, "float32")
        progress = ops.minimum(ops.cast(self.step, "float32") / self.decay_steps, 1.0)
        return self.initial_ratio + (self.final_ratio - self.initial_ratio) * progress

    def mix_inputs(self, model, inputs, ratio, training):
        """Decoder inputs with each position after the first replaced by the model's own
        greedy prediction with probability 1 - ratio (real tokens only)."""
        gold = ops.cast(inputs["decoder_token_ids"], "int32")
        first_pass = ops.stop_gradient(model(inputs, training=training))
        predicted = ops.cast(ops.argmax(first_pass, axis=-1), "int32")
        predicted = ops.concatenate([gold[:, :1], predicted[:, :-1]], axis=1)
        replace = keras.random.uniform(ops.shape(gold), seed=self.seed) >= ratio
        replace = ops.logical_and(replace, ops.arange(ops.shape(gold)[1])[None, :] > 0)
        if inputs.get("decoder_padding_mask") is not None:
            replace = ops.logical_and(replace, ops.cast(inputs["decoder_padding_mask"], "bool"))
        return {**inputs, "decoder_token_ids": ops.where(replace, predicted, gold)}

    def __call__(self, model, batch, training=True):
        token_losses.check_batch(batch, SEQ2SEQ_KEYS, self.name)
        inputs = {key: batch[key] for key in MODEL_KEYS if key in batch}
        ratio = self.teacher_forcing_ratio()
        if training and self.scheduled:
            inputs = self.mix_inputs(model, inputs, ratio, training)
            self.step.assign_add(1)
        logits = model(inputs, training=training)
        labels, loss_mask = batch["labels"], batch["loss_mask"]
        loss = token_losses.masked_mean(
            smoothed_cross_entropy(logits, labels, self.label_smoothing), loss_mask)
        log_probs = token_losses.token_log_probs(logits, labels)
        metrics = token_losses.lm_metrics(logits, labels, loss_mask, log_probs)
        return loss, {"loss": loss, **metrics, "teacher_forcing_ratio": ratio}
