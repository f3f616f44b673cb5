"""Atomic, rotating checkpoints with fallback to an older one when the latest is unreadable."""

import os
import shutil
import time

import tensorflow as tf
from absl import logging


class Checkpointer:
    """tf.train.CheckpointManager with save intervals in steps and/or minutes.

    Args:
        directory: where checkpoints go (`<workdir>/checkpoints`).
        trackables: what to save, e.g. model=, optimizer=, step=, rng=.
        step: the tf.Variable counting training steps (names the checkpoint files).
        max_to_keep: checkpoints kept.
        every_steps / every_minutes: save when either interval has passed (0: never).
        chief: only the chief keeps its files; other workers of a multi-worker run
            write to a temporary directory (collectives need every worker to save)
            and delete it.
    """

    def __init__(self, directory, step, max_to_keep=3, every_steps=0, every_minutes=0.0,
                 chief=True, worker=0, **trackables):
        self.checkpoint = tf.train.Checkpoint(step=step, **trackables)
        self.step = step
        self.chief = chief
        self.directory = directory if chief else os.path.join(directory, f".worker_{worker}")
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory,
                                                  max_to_keep=max_to_keep)
        self.every_steps = int(every_steps)
        self.every_minutes = float(every_minutes)
        self._last_time = time.monotonic()
        self.last_step = int(step.numpy())

    def due(self, step):
        """True when an interval (steps or minutes) has elapsed since the last save."""
        if self.every_steps and step - self.last_step >= self.every_steps:
            return True
        return bool(self.every_minutes
                    and time.monotonic() - self._last_time >= 60.0 * self.every_minutes)

    def save(self):
        """Writes a checkpoint now (data first, then the `checkpoint` state file)."""
        step = int(self.step.numpy())
        path = self.manager.save(checkpoint_number=step)
        if not self.chief:
            shutil.rmtree(self.directory, ignore_errors=True)
        self._last_time = time.monotonic()
        self.last_step = step
        return path

    def restore(self):
        """Restores the newest readable checkpoint; returns its path or None if none exist.

        Raises:
            ValueError: checkpoints exist but none of them can be read.
        """
        path = restore_newest(self.checkpoint, self.manager.checkpoints)
        if path:
            self.last_step = int(self.step.numpy())
        return path


def model_trackables(model, name="model"):
    """`{name: model, name_weights: {variable path: variable}}` for tf.train.Checkpoint.

    The object graph of a Keras 3 model misses variables of layers kept in plain lists
    (e.g. the Transformer blocks); the path-keyed dict saves every variable but the
    dropout layers' random-seed states, whose paths carry a process-wide counter
    ("seed_generator_7/...", so a second model built in one process could not restore
    them and no checkpoint was readable).
    """
    prefix = model.name + "/"  # paths without the model's (per-process unique) name
    weights = {v.path.removeprefix(prefix): v for v in model.variables
               if not v.path.endswith("seed_generator_state")}
    return {name: model, f"{name}_weights": weights}


def restore_newest(checkpoint, paths, partial=False):
    """Restores the newest readable of `paths` (oldest first) into `checkpoint`.

    An unreadable checkpoint (truncated or corrupt files) is skipped with a warning and
    the previous one is tried. `partial`: the checkpoint may hold more than
    `checkpoint` tracks (e.g. restoring only the model); every variable of `checkpoint`
    must be restored either way. Returns the path, or None when
    `paths` is empty; ValueError when none can be read.
    """
    for path in reversed(list(paths)):
        try:
            status = checkpoint.restore(path)
            status.assert_existing_objects_matched()
            if partial:
                status.expect_partial()
        except (tf.errors.OpError, ValueError, AssertionError, IndexError) as e:
            text = str(e).strip()
            logging.warning("checkpoint %s is unreadable (%s); trying the previous one",
                            path, text.splitlines()[0] if text else type(e).__name__)
            continue
        return path
    if paths:
        raise ValueError(f"{os.path.dirname(paths[0])}: no readable checkpoint among "
                         f"{[os.path.basename(p) for p in paths]}")
    return None


def restore_model(directory, model):
    """Restores `model`'s weights from the newest readable checkpoint in `directory`.

    Raises:
        ValueError: no checkpoint there, or none readable.
    """
    state = tf.train.get_checkpoint_state(directory)
    paths = list(state.all_model_checkpoint_paths) if state else []
    if not paths:
        raise ValueError(f"{directory}: no checkpoint found")
    return restore_newest(tf.train.Checkpoint(**model_trackables(model)), paths, partial=True)
