"""Sequence classification: cross-entropy for EncoderClassifier fine-tuning, and its evaluation.

The objective gives per-batch loss and accuracy; `evaluate_classifier` runs a whole
split to get what does not average over batches (macro/micro P/R/F1, the confusion
matrix, logged to TensorBoard as an image).
"""

import numpy as np
import tensorflow as tf
from keras import ops

from tfllm.evaluation import classification_metrics
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


def predict_labels(model, dataset):
    """(true labels, predicted labels) as int64 numpy arrays over a batched dataset."""
    @tf.function
    def predict(batch):
        return tf.argmax(model(token_losses.model_inputs(batch), training=False), axis=-1)

    true, predicted = [], []
    for batch in dataset:
        token_losses.check_batch(batch, CLASSIFICATION_KEYS, "classification")
        true.append(np.asarray(batch["label"], np.int64))
        predicted.append(predict(batch).numpy())
    if not true:
        raise ValueError("evaluate_classifier: the dataset is empty")
    return np.concatenate(true), np.concatenate(predicted)


def evaluate_classifier(model, dataset, class_names, writer=None, step=0):
    """Accuracy, macro/micro precision/recall/F1 and the confusion matrix of `model`.

    Args:
        model: an EncoderClassifier (or any model mapping the batch to class logits).
        dataset: batched classification batches (`token_ids`, `padding_mask`, `label`).
        class_names: one name per class, in id order.
        writer: optional tf.summary writer; scalars go under "eval/" and the confusion
            matrix as the image "eval/confusion_matrix".
        step: the summary step.

    Returns:
        {"accuracy", "precision_macro", ..., "f1_micro": float,
         "confusion_matrix": list of lists of int}.
    """
    num_classes = len(class_names)
    true, predicted = predict_labels(model, dataset)
    matrix = classification_metrics.confusion_matrix(true, predicted, num_classes)
    metrics = {"accuracy": classification_metrics.accuracy(true, predicted)}
    for average in ("macro", "micro"):
        scores = classification_metrics.precision_recall_f1(true, predicted, average, num_classes)
        metrics.update({f"{name}_{average}": value for name, value in scores.items()})
    if writer is not None:
        image = classification_metrics.confusion_matrix_image(matrix, class_names)
        with writer.as_default(step=step):
            for name, value in metrics.items():
                tf.summary.scalar(f"eval/{name}", value)
            tf.summary.image("eval/confusion_matrix", image[None])
        writer.flush()
    return {**metrics, "confusion_matrix": matrix.tolist()}
