"""A classifier's evaluation on a whole split: what does not average over batches
(macro/micro precision, recall and F1, the confusion matrix, logged to TensorBoard as
an image), from `classification_metrics` on the predicted labels.
"""

import numpy as np
import tensorflow as tf

from tfllm.evaluation import classification_metrics
from tfllm.objectives import token_losses
from tfllm.objectives.classification import CLASSIFICATION_KEYS


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
