import numpy as np
import pytest

from tfllm.evaluation import classification_metrics as cm

Y_TRUE = [0, 0, 1, 2, 2, 2]
Y_PRED = [0, 1, 1, 2, 2, 0]


def test_confusion_matrix_and_accuracy():
    np.testing.assert_array_equal(cm.confusion_matrix(Y_TRUE, Y_PRED),
                                  [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert cm.confusion_matrix([0], [0], num_classes=3).shape == (3, 3)
    assert cm.accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)


def test_macro_and_micro_hand_computed():
    # Per class (P, R, F1): (1/2, 1/2, 1/2), (1/2, 1, 2/3), (1, 2/3, 4/5).
    macro = cm.precision_recall_f1(Y_TRUE, Y_PRED, average="macro")
    assert macro == pytest.approx({"precision": 2 / 3, "recall": 13 / 18,
                                   "f1": (1 / 2 + 2 / 3 + 4 / 5) / 3})
    micro = cm.precision_recall_f1(Y_TRUE, Y_PRED, average="micro")
    assert micro == pytest.approx({"precision": 4 / 6, "recall": 4 / 6, "f1": 4 / 6})


def test_macro_matches_sklearn_on_random_labels():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 5, 200), rng.integers(0, 4, 200)
    ours = cm.precision_recall_f1(y_true, y_pred, average="macro")
    theirs = metrics.precision_recall_fscore_support(y_true, y_pred, average="macro",
                                                     zero_division=0)
    assert [ours["precision"], ours["recall"], ours["f1"]] == pytest.approx(theirs[:3])


def test_confusion_matrix_image_is_rgba_uint8():
    image = cm.confusion_matrix_image(cm.confusion_matrix(Y_TRUE, Y_PRED), ["a", "b", "c"])
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 4
    assert image.shape[0] > 50 and image.shape[1] > 50
    assert len(np.unique(image.reshape(-1, 4), axis=0)) > 2  # something was drawn


@pytest.mark.parametrize("call, message", [
    (lambda: cm.accuracy([], []), "empty input"),
    (lambda: cm.accuracy([0, 1], [0]), "shape"),
    (lambda: cm.confusion_matrix([0, 3], [0, 1], num_classes=3),
     r"y_true has class ids outside \[0, 3\)"),
    (lambda: cm.confusion_matrix([0.5], [0]), "integer class ids"),
    (lambda: cm.precision_recall_f1([0], [0], average="weighted"), "average must be"),
    (lambda: cm.confusion_matrix_image(np.zeros((2, 3)), ["a", "b"]), "square"),
    (lambda: cm.confusion_matrix_image(np.zeros((2, 2)), ["a"]), "1 labels"),
])
def test_bad_input_raises(call, message):
    with pytest.raises(ValueError, match=message):
        call()
