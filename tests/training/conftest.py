"""Helpers for the Trainer tests: run tests/training/train_tiny.py in subprocesses, read events."""

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.realpath(__file__)), "train_tiny.py")


def free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def start(args, env=None):
    """Starts train_tiny.py with `args`; returns the Popen."""
    return subprocess.Popen([sys.executable, SCRIPT, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})


def finish(process, timeout=300):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return out


def scalars(logdir, tag):
    """{step: value} of a scalar tag in TensorBoard events (the last write of each step wins)."""
    import tensorflow as tf
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(
        logdir, size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
    return {e.step: float(tf.make_ndarray(e.tensor_proto)) for e in accumulator.Tensors(tag)}


def weights(path):
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture
def helpers():
    return sys.modules[__name__]
