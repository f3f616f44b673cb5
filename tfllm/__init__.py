"""tfllm: build, pretrain and align language models with TensorFlow and Keras 3.

Importing tfllm imports TensorFlow and Keras, with their start-up chatter (oneDNN lines,
written from C++) sent to /dev/null, and registers every serializable tfllm class (layers, models, the
learning-rate schedule) with Keras, so `keras.saving.load_model` reads tfllm `.keras`
files after a plain `import tfllm`, as after `import keras_hub`. TF-Agents is only
imported by `tfllm.rl`, on demand. It does not start TensorFlow's runtime (no device is
listed): the runtime reads TF_XLA_FLAGS once, when it starts, and the bfloat16 training
path sets them first (tfllm.training.compilation).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"


def _import_tensorflow_quietly():
    """Imports tensorflow and keras with file descriptor 2 pointed at /dev/null."""
    if "tensorflow" in sys.modules:
        return
    saved_stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.close(devnull)


_import_tensorflow_quietly()

from tfllm import layers, models  # noqa: E402,F401  (registers the Keras classes)
from tfllm.training import schedules  # noqa: E402,F401
