"""A model and its weights from a folder: `<dir>/model.json` (the class and its Keras
config) and the newest readable checkpoint of `<dir>/checkpoints` (a training workdir or
a trained preset)."""

import json
import os

import tensorflow as tf
from absl import logging

MODEL_FILE = "model.json"


def model_from_spec(spec):
    """The model a model.json spec ({"class", "config"}) describes, untrained."""
    import keras

    return keras.saving.deserialize_keras_object(
        {"class_name": spec["class"], "config": spec["config"], "module": None,
         "registered_name": f"tfllm>{spec['class']}"})


def load_model(directory):
    """`model_from_spec` of `<directory>/model.json` with the newest checkpoint restored."""
    path = os.path.join(directory, MODEL_FILE)
    if not os.path.isfile(path):
        raise ValueError(f"{path}: missing (was the workdir made by tfllm-pretrain/finetune?)")
    with open(path, encoding="utf-8") as f:
        model = model_from_spec(json.load(f))
    restore_model(os.path.join(directory, "checkpoints"), model)
    return model


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


def trainable_trackables(model, name="model"):
    """`{name_trainable_weights: {variable path: variable}}` of `model`'s trainable
    variables only (a LoRA model's adapters: its frozen weights come from the model it
    started from)."""
    prefix = model.name + "/"
    return {f"{name}_trainable_weights": {v.path.removeprefix(prefix): v
                                          for v in model.trainable_variables}}


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
