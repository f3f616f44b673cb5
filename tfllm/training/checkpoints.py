"""Atomic, rotating checkpoints with fallback to an older one when the latest is unreadable."""

import os
import shutil
import time

import tensorflow as tf
from absl import logging

from tfllm.models.lora import lora_enabled, merge_lora, save_lora_weights
from tfllm.models.restore import (model_trackables, restore_model,  # noqa: F401
                                  restore_newest, trainable_trackables)

MODEL_CHECKPOINTS_DIR = "checkpoints"
LORA_CHECKPOINTS_DIR = "lora_checkpoints"
ADAPTERS_FILE = "adapters.lora.h5"


def training_checkpoints(workdir, model, name="model"):
    """(directory, trackables) of `model` in a run's training checkpoints: every variable
    in <workdir>/checkpoints; of a LoRA model only the trainable ones (the adapters) in
    <workdir>/lora_checkpoints, its merged weights going to <workdir>/checkpoints when the
    run ends (`save_lora_outputs`)."""
    if lora_enabled(model):
        return (os.path.join(workdir, LORA_CHECKPOINTS_DIR),
                trainable_trackables(model, name))
    return os.path.join(workdir, MODEL_CHECKPOINTS_DIR), model_trackables(model, name)


def save_lora_outputs(workdir, model, step):
    """Writes what a LoRA run leaves: `model` merged (`merge_lora`) as the model-only
    checkpoint `<workdir>/checkpoints/ckpt-<step>` that every later binary loads (only that
    one), and its adapters alone to `<workdir>/adapters.lora.h5` (`save_lora_weights`)."""
    save_lora_weights(model, os.path.join(workdir, ADAPTERS_FILE))
    with tf.init_scope():
        merged = merge_lora(model)
    checkpoint = tf.train.Checkpoint(**model_trackables(merged))
    manager = tf.train.CheckpointManager(
        checkpoint, os.path.join(workdir, MODEL_CHECKPOINTS_DIR), max_to_keep=1)
    return manager.save(checkpoint_number=step)


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


