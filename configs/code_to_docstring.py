"""Seq2seq: Python function source -> first docstring line, on the embedded stdlib pairs.

    .venv/bin/python tools/app_experiments.py --config=configs/code_to_docstring.py \
        --workdir=runs/code_to_docstring
"""

import importlib.util
import os

import ml_collections


def _translation_config():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seq2seq_translation.py")
    spec = importlib.util.spec_from_file_location("tfllm_config_seq2seq_translation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


def get_config():
    config = _translation_config()
    config.data.corpus = "python_code_to_docstring"
    config.data.max_source_length = 128
    config.data.max_target_length = 24
    config.model.max_sequence_length = 128
    config.tokenizer.vocabulary_size = 2000
    config.training.steps = 400
    config.training.batch_size = 32
    config.training.sample_prompt = "def add(a, b):\n    return a + b\n"
    config.evaluation.max_examples = 450
    config.evaluation.baseline = "function_name"
    return ml_collections.ConfigDict(config)
