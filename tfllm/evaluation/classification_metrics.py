"""Classification metrics from integer labels (numpy), and a confusion-matrix image.

Labels are class ids in [0, num_classes). The confusion matrix has true classes on rows
and predicted classes on columns. Per-class precision/recall/F1 with no support (zero
division) count as 0; macro averages run over the classes seen in y_true or y_pred.
"""

import numpy as np

_AVERAGES = ("macro", "micro")


def confusion_matrix(y_true, y_pred, num_classes=None):
    """(num_classes, num_classes) int64 counts: entry [t, p] = examples of class t predicted p."""
    y_true, y_pred = _check_labels(y_true, y_pred, num_classes)
    size = num_classes if num_classes is not None else int(max(y_true.max(), y_pred.max())) + 1
    matrix = np.zeros((size, size), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def accuracy(y_true, y_pred):
    """Fraction of predictions equal to the true label."""
    y_true, y_pred = _check_labels(y_true, y_pred, None)
    return float(np.mean(y_true == y_pred))


def precision_recall_f1(y_true, y_pred, average="macro", num_classes=None):
    """{"precision", "recall", "f1"} averaged "macro" (mean over classes) or "micro" (pooled)."""
    if average not in _AVERAGES:
        raise ValueError(f"precision_recall_f1: average must be one of {_AVERAGES}, "
                         f"got {average!r}")
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    true_positives = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    if average == "micro":
        true_positives, predicted, actual = true_positives.sum(), predicted.sum(), actual.sum()
    precision = _divide(true_positives, predicted)
    recall = _divide(true_positives, actual)
    f1 = _divide(2 * precision * recall, precision + recall)
    if average == "macro":
        seen = (predicted + actual) > 0
        precision, recall, f1 = precision[seen].mean(), recall[seen].mean(), f1[seen].mean()
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}


def confusion_matrix_image(matrix, labels):
    """Renders `matrix` as an RGBA uint8 image (H, W, 4), e.g. for tf.summary.image
    (add the batch axis there)."""
    # pylint: disable=import-outside-toplevel
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    matrix = np.asarray(matrix)
    labels = [str(label) for label in labels]
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"confusion_matrix_image: matrix must be square, got shape {matrix.shape}")
    if len(labels) != matrix.shape[0]:
        raise ValueError(f"confusion_matrix_image: {len(labels)} labels for a matrix of shape "
                         f"{matrix.shape}")
    size = 2.0 + 0.6 * len(labels)
    figure = Figure(figsize=(size, size), dpi=80)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.imshow(matrix, cmap="Blues")
    ticks = np.arange(len(labels))
    axes.set_xticks(ticks, labels, rotation=45, ha="right")
    axes.set_yticks(ticks, labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    middle = matrix.max() / 2 if matrix.size else 0
    for (row, col), value in np.ndenumerate(matrix):
        axes.text(col, row, f"{value:g}", ha="center", va="center",
                  color="white" if value > middle else "black")
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba(), dtype=np.uint8).copy()


def _divide(numerator, denominator):
    """numerator / denominator, 0 where the denominator is 0."""
    numerator, denominator = np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _check_labels(y_true, y_pred, num_classes):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {labels.shape}")
        if labels.size and not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"{name} must hold integer class ids, got dtype {labels.dtype}")
        too_big = num_classes is not None and labels.size and labels.max() >= num_classes
        if labels.size and (labels.min() < 0 or too_big):
            raise ValueError(f"{name} has class ids outside [0, {num_classes or 'inf'}): "
                             f"min {labels.min()}, max {labels.max()}")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}")
    if not y_true.size:
        raise ValueError("empty input: y_true and y_pred hold no labels")
    return y_true.astype(np.int64), y_pred.astype(np.int64)
