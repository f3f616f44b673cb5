"""Seq2seq: Python function source -> first docstring line, on the embedded stdlib pairs.

    .venv/bin/python tools/app_experiments.py --config=configs/code_to_docstring.py \
        --workdir=runs/code_to_docstring [--results=docs/results/seq2seq]

Sources cut to 32 tokens (the `def` line and the first statements), 1600 steps of
batch 32. Plain teacher forcing (scheduled sampling costs a second, gradient-free decoder
pass per step; enable it with --config.objective.options.final_teacher_forcing_ratio=0.8),
label smoothing 0.1; the test split is decoded greedily and with beam search (4 beams, GNMT
length penalty 0.6). Measured in docs/results/seq2seq.md. The tool runs the binaries:

    tfllm-finetune --config=configs/code_to_docstring.py --workdir=runs/code_to_docstring
    tfllm-evaluate --workdir=runs/code_to_docstring     # evaluation mode "seq2seq"
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
    config.data.max_source_length = 32
    config.data.max_target_length = 24
    config.model.max_sequence_length = 128
    config.tokenizer.vocabulary_size = 2000
    config.objective.options.update(label_smoothing=0.1, teacher_forcing_ratio=1.0,
                                    final_teacher_forcing_ratio=1.0, decay_steps=0)
    config.schedule.update(peak_learning_rate=2e-3, warmup_steps=60)
    config.training.update(steps=1600, batch_size=32, log_every=50, eval_steps=0,
                           checkpoint_every_steps=400)
    config.training.sample_prompt = "def add(a, b):\n    return a + b\n"
    config.evaluation.max_examples = 450
    config.evaluation.max_new_tokens = 24
    config.evaluation.samplers = ("greedy", "beam")
    config.evaluation.update(num_beams=4, length_penalty=0.6)
    config.evaluation.baseline = "function_name"
    return ml_collections.ConfigDict(config)
