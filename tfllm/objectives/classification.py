"""Sequence classification: cross-entropy for EncoderClassifier fine-tuning.

The objective gives per-batch loss and accuracy; `evaluate_classifier` (in
tfllm.evaluation.classifier) runs a whole split to get what does not average over
batches (macro/micro P/R/F1, the confusion matrix, logged to TensorBoard as an image).
"""

from keras import ops

from tfllm.objectives import token_losses
from tfllm.objectives.registry import register

CLASSIFICATION_KEYS = ("token_ids", "label")


@register("classification")
class ClassificationCrossEntropy:
    """Mean cross-entropy of a classifier's logits (batch, num_classes) against `label`.

    Args:
        label_smoothing: epsilon in [0, 1): targets (1 - eps) one-hot + eps / num_classes.

    Metrics: loss, accuracy, examples.
    """

    name = "classification"

    def __init__(self, label_smoothing=0.0):
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"classification objective: label_smoothing {label_smoothing} "
                             "must be in [0, 1)")
        self.label_smoothing = float(label_smoothing)

    def __call__(self, model, batch, training=True):
        token_losses.check_batch(batch, CLASSIFICATION_KEYS, self.name)
        logits = ops.cast(model(token_losses.model_inputs(batch), training=training), "float32")
        labels = ops.cast(batch["label"], "int32")
        log_probs = ops.log_softmax(logits, axis=-1)
        nll = -ops.take_along_axis(log_probs, labels[:, None], axis=-1)[:, 0]
        losses = (1.0 - self.label_smoothing) * nll - self.label_smoothing * ops.mean(
            log_probs, axis=-1)
        loss = ops.mean(losses)
        hits = ops.cast(ops.equal(ops.argmax(logits, axis=-1), labels), "float32")
        return loss, {"loss": loss, "accuracy": ops.mean(hits),
                      "examples": ops.cast(ops.shape(labels)[0], "float32")}
