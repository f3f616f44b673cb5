"""TensorBoard output: scalars, text, histograms, hparams, the step graph, profiler windows."""

import re

import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hp


def hparam_value(value):
    """A value TensorBoard's hparams plugin accepts (bool, int, float or str)."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def code_block(text):
    """`text` as a fenced Markdown code block, which TensorBoard's text tab shows verbatim
    (Markdown would turn `__op__` bold); the fence is longer than any run of backticks in
    the text. Tabs show as spaces."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def samples_markdown(texts, scores=None, score_name="score"):
    """Generated texts for TensorBoard: each under its number (and score), verbatim."""
    blocks = []
    for i, text in enumerate(texts):
        score = "" if scores is None else f" · {score_name} {scores[i]:.4g}"
        blocks.append(f"**sample {i}**{score}\n\n{code_block(text)}")
    return "\n\n".join(blocks)


class Summaries:
    """Writes one run's TensorBoard events under `logdir` (a no-op writer when disabled,
    e.g. on non-chief workers)."""

    def __init__(self, logdir, enabled=True):
        self.logdir = logdir
        self.enabled = bool(enabled and logdir)
        self.writer = (tf.summary.create_file_writer(logdir) if self.enabled
                       else tf.summary.create_noop_writer())
        self._profiling = False

    def scalars(self, step, values):
        with self.writer.as_default(step=step):
            for tag, value in values.items():
                tf.summary.scalar(tag, float(value))

    def text(self, step, tag, markdown):
        with self.writer.as_default(step=step):
            tf.summary.text(tag, markdown)

    def histograms(self, step, values):
        with self.writer.as_default(step=step):
            for tag, value in values.items():
                tf.summary.histogram(tag, value)

    def hparams(self, config):
        """Records `config` (a flat dict) as this run's hyperparameters.

        No experiment config is written, so TensorBoard's hparams dashboard takes as
        metrics every scalar of this run and of the runs below it, including
        `tfllm-evaluate`'s in `<logdir>/eval` written after training.
        """
        if not self.enabled:
            return
        flat = {key: hparam_value(value) for key, value in sorted(config.items())}
        with self.writer.as_default():
            hp.hparams(flat, trial_id=self.logdir)

    def trace_on(self):
        if self.enabled:
            tf.summary.trace_on(graph=True, profiler=False)

    def trace_export(self, step, name="train_step"):
        if self.enabled:
            with self.writer.as_default():
                tf.summary.trace_export(name=name, step=step)

    def profile(self, step, first, last):
        """Starts the profiler before step `first` and stops it after step `last`."""
        if not self.enabled or first is None:
            return
        if step == first and not self._profiling:
            tf.profiler.experimental.start(self.logdir)
            self._profiling = True
        elif step > last and self._profiling:
            tf.profiler.experimental.stop()
            self._profiling = False

    def close(self):
        if self._profiling:
            tf.profiler.experimental.stop()
            self._profiling = False
        self.writer.flush()
        self.writer.close()
