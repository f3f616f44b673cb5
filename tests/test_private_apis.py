"""The private names of other packages that tfllm relies on, and what it assumes of them.

A release that renames one or changes what it does fails here, by name, rather than as
a silent no-op patch elsewhere:
- keras: the TensorFlow optimizer's `_all_reduce_sum_gradients` hook, which the trainer
  turns off under several replicas, as it all-reduces the gradients itself
  (tests/training/test_distributed.py checks the effect: mirrored equals one device);
- keras: `Layer._flatten_layers`, which tfllm.models.lora walks to find the Dense layers
  to adapt (as keras-hub's `Backbone.enable_lora` does);
- pycodestyle: `_is_string_literal`, which tfllm.feedback.pycodestyle_counts replaces.
"""

import inspect

import keras
import numpy as np
import pycodestyle
import tensorflow as tf

from tfllm.feedback import pycodestyle_counts


def test_keras_applies_gradients_through_the_hook_the_trainer_turns_off():
    optimizer = keras.optimizers.SGD(learning_rate=1.0)
    variable = keras.Variable([1.0, 2.0])
    optimizer.build([variable])
    seen = []

    def hook(grads_and_vars):
        grads_and_vars = list(grads_and_vars)
        seen.append([g.numpy().tolist() for g, _ in grads_and_vars])
        return [(2.0 * g, v) for g, v in grads_and_vars]

    optimizer._all_reduce_sum_gradients = hook
    optimizer.apply_gradients([(tf.constant([0.5, 0.25]), variable)])
    assert seen == [[[0.5, 0.25]]]
    np.testing.assert_allclose(variable.numpy(), [0.0, 1.5])  # the hook's gradients applied


def test_keras_flattens_every_nested_layer_once_in_lists_too():
    inner = [keras.layers.Dense(2, name=f"d{i}") for i in range(2)]

    class Outer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.blocks = inner  # a plain list, as TransformerStack keeps its blocks
            self.head = keras.layers.Dense(1, name="head")

    outer = Outer()
    assert [layer.name for layer in outer._flatten_layers(include_self=False)] == [
        "d0", "d1", "head"]


def test_pycodestyle_still_calls_the_string_literal_check_tfllm_replaces():
    assert pycodestyle._is_string_literal is pycodestyle_counts._is_string_literal
    assert "_is_string_literal(" in inspect.getsource(pycodestyle.module_imports_on_top_of_file)
    assert pycodestyle._STRING_PREFIXES >= {"b", "r", "u"}
    # pycodestyle's answers (its own version raises IndexError on the lone prefix "b")
    cases = {'"doc"': True, "b'x'": True, "r'''y": True, "'": True, "print()": False,
             "": False, "rb'x'": False, "b": False}
    assert {line: pycodestyle._is_string_literal(line) for line in cases} == cases
