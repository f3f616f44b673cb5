"""Early stopping on an evaluation metric."""

import math


class EarlyStopping:
    """Stops when `metric` has not improved by `min_delta` for `patience` evaluations.

    Args:
        metric: a logged tag, e.g. "eval/loss".
        mode: "min" or "max".
        patience: evaluations without improvement tolerated.
        min_delta: the smallest change that counts as an improvement.
    """

    def __init__(self, metric="eval/loss", mode="min", patience=3, min_delta=0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"early stopping mode {mode!r}: expected 'min' or 'max'")
        self.metric = metric
        self.sign = 1.0 if mode == "min" else -1.0
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.best = math.inf
        self.bad_evaluations = 0

    def update(self, metrics):
        """Records one evaluation's metrics; returns True when training should stop."""
        if self.metric not in metrics:
            raise ValueError(f"early stopping metric {self.metric!r} is not among the "
                             f"evaluation metrics {sorted(metrics)}")
        value = self.sign * float(metrics[self.metric])
        if value < self.best - self.min_delta:
            self.best = value
            self.bad_evaluations = 0
        else:
            self.bad_evaluations += 1
        return self.bad_evaluations > self.patience

    def state(self):
        return {"best": self.sign * self.best, "bad_evaluations": self.bad_evaluations}
