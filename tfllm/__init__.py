"""tfllm: build, pretrain and align language models with TensorFlow and Keras 3.

Importing tfllm is light: TensorFlow's start-up noise is silenced and TF-Agents
is only imported by `tfllm.rl`, on demand.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
