"""tfllm-finetune with configs/ilql_sentiment.py, tiny: ILQL heads on an LM workdir, the
corpus scored by VADER, a few compiled steps, the workdir's ILQLModel loaded back
(its decoding: tests/generation/test_ilql.py)."""

import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from tests.bin.binaries import QUIET, ROOT, call
from tfllm import experiment
from tfllm.bin import common, finetune
from tfllm.models import DecoderLM, ILQLModel

CONFIG = os.path.join(ROOT, "configs", "ilql_sentiment.py")
LINES = ["What a wonderful, happy and lovely day it is.", "This is terrible and awful.",
         "The table stands in the room.", "I love this great and beautiful garden!",
         "Sadly the plan failed badly."]


def lm_workdir(path):
    """A tiny DecoderLM workdir (byte tokenizer, model.json, one checkpoint)."""
    from tfllm.tokenizers import Tokenizer
    from tfllm.training.checkpoints import Checkpointer, model_trackables

    tokenizer = Tokenizer.train([], None, kind="byte")
    tokenizer.save(os.path.join(path, "tokenizer"))
    model = DecoderLM.from_preset("tiny", vocabulary_size=tokenizer.vocabulary_size,
                                  max_sequence_length=32)
    common.save_model_config(path, model)
    Checkpointer(os.path.join(path, "checkpoints"), tf.Variable(0, dtype=tf.int64),
                 **model_trackables(model)).save()
    return str(path)


def test_ilql_finetune_from_an_lm_workdir(tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text("\n".join(LINES * 8) + "\n")  # 40 lines: the last 2 are validation
    workdir = str(tmp_path / "ilql")
    args = [f"--config={CONFIG}", f"--workdir={workdir}", f"--config.data.files={text}",
            "--config.data.sequence_length=32", "--config.training.batch_size=2",
            "--config.training.steps=3", "--config.training.eval_every=0",
            "--config.training.eval_steps=1", "--config.training.log_every=1",
            "--config.training.sample_every=0", "--config.training.num_samples=0",
            "--config.objective.options.alpha=0.5",
            "--config.objective.options.target_sync_every=1", *QUIET]
    with pytest.raises(ValueError, match="needs --init_workdir"):
        call(finetune.main, *args)
    call(finetune.main, *args, f"--init_workdir={lm_workdir(tmp_path / 'lm')}")
    out = capsys.readouterr().out
    assert "step 3 (completed)" in out
    for name in ("td_loss", "value_loss", "cql_loss", "perplexity"):
        assert np.isfinite(float(re.search(rf"eval/{name}=([-\d.e+]+)", out).group(1))), name
    assert json.load(open(os.path.join(workdir, "model.json")))["class"] == "ILQLModel"
    model = experiment.load_model(workdir)
    assert isinstance(model, ILQLModel) and model.beta == 4.0
    assert int(model.target_updates.numpy()) == 3  # one Polyak step per training step
    head, target = model.q_heads[0].kernel.numpy(), model.target_q_heads[0].kernel.numpy()
    assert not np.array_equal(head, target)  # the heads trained, the targets trail them
