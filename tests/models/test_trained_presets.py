"""Trained presets: DecoderLM.from_preset / Tokenizer.from_preset in a fresh process give
the logits preset.json stores and the source workdir's model; an unknown name lists both
kinds of preset; every preset shipped in the package matches its fingerprint."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import tfllm
from tfllm import experiment
from tfllm.models import DecoderLM
from tfllm.models.presets import (FINGERPRINT_PROMPT, PACKAGE_PRESETS_DIR, PRESET_FILE,
                                  PRESETS_DIR_VARIABLE, fingerprint, presets_dir,
                                  trained_preset_names)
from tfllm.tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
FRESH_PROCESS = """
import json, sys
from tfllm.models import DecoderLM
from tfllm.models.presets import fingerprint
from tfllm.tokenizers import Tokenizer
name = sys.argv[1]
print(json.dumps(fingerprint(DecoderLM.from_preset(name), Tokenizer.from_preset(name))))
"""


def fresh_process_fingerprint(name, presets_dir=None):
    """`fingerprint` of preset `name` loaded in a new Python process (from `presets_dir`,
    default the package's folder)."""
    env = {k: v for k, v in os.environ.items() if k != PRESETS_DIR_VARIABLE}
    if presets_dir:
        env[PRESETS_DIR_VARIABLE] = presets_dir
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, name], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_fingerprint(found, directory):
    with open(os.path.join(directory, PRESET_FILE), encoding="utf-8") as f:
        stored = json.load(f)["fingerprint"]
    assert found["prompt"] == stored["prompt"] == FINGERPRINT_PROMPT
    assert found["token_ids"] == stored["token_ids"]
    np.testing.assert_allclose(found["logits"], stored["logits"], rtol=1e-4, atol=1e-5)


def test_a_preset_loads_in_a_fresh_process_with_its_logits(trained_preset):
    found = fresh_process_fingerprint(trained_preset.name, trained_preset.presets_dir)
    check_fingerprint(found, trained_preset.directory)
    source = experiment.load_model(trained_preset.workdir)
    tokenizer = Tokenizer.load(os.path.join(trained_preset.workdir, "tokenizer"))
    np.testing.assert_allclose(fingerprint(source, tokenizer)["logits"], found["logits"],
                               rtol=1e-4, atol=1e-5)


def test_trained_and_architecture_presets_side_by_side(trained_preset, monkeypatch):
    monkeypatch.setenv(PRESETS_DIR_VARIABLE, trained_preset.presets_dir)
    name = trained_preset.name
    model, tokenizer = DecoderLM.from_preset(name), Tokenizer.from_preset(name)
    source = experiment.load_model(trained_preset.workdir)
    ids = np.array([tokenizer.encode(FINGERPRINT_PROMPT + "    return a + b\n")], "int32")
    np.testing.assert_array_equal(model(ids), source(ids))  # every position, every logit
    assert DecoderLM.from_preset("tiny", vocabulary_size=300).vocabulary_size == 300
    listing = (f"trained presets in {trained_preset.presets_dir}: {name}; untrained "
               f"architectures: gpt2_124m, small, speedrun, tiny")
    for load in (DecoderLM.from_preset, Tokenizer.from_preset):
        with pytest.raises(ValueError, match=re.escape(f"unknown preset 'nope'; {listing}")):
            load("nope")
    with pytest.raises(ValueError, match="preset 'tiny' is an untrained architecture"):
        Tokenizer.from_preset("tiny")
    with pytest.raises(ValueError, match=f"trained preset '{name}' takes no overrides"):
        DecoderLM.from_preset(name, dropout=0.1)
    assert experiment.resolve_workdir(f"preset:{name}") == trained_preset.directory
    assert experiment.resolve_workdir("runs/lm") == "runs/lm"


def test_presets_are_in_the_package_unless_the_variable_says_otherwise(monkeypatch):
    monkeypatch.delenv(PRESETS_DIR_VARIABLE, raising=False)
    assert presets_dir() == PACKAGE_PRESETS_DIR == os.path.join(
        os.path.dirname(os.path.realpath(tfllm.__file__)), "presets")
    assert os.path.isfile(os.path.join(PACKAGE_PRESETS_DIR, "README.md"))
    monkeypatch.setenv(PRESETS_DIR_VARIABLE, "/elsewhere")
    assert presets_dir() == "/elsewhere"


def test_only_complete_presets_are_listed(tmp_path):
    for folder, files in {"done": ["preset.json"], ".done.tmp-1": ["preset.json"],
                          "half": ["model.json"]}.items():
        os.makedirs(tmp_path / folder)
        for file in files:
            (tmp_path / folder / file).write_text("{}")
    (tmp_path / "README.md").write_text("")
    assert trained_preset_names(str(tmp_path)) == ["done"]
    assert trained_preset_names(str(tmp_path / "missing")) == []


@pytest.mark.parametrize("name", trained_preset_names(PACKAGE_PRESETS_DIR))
def test_a_shipped_preset_matches_its_fingerprint(name):
    check_fingerprint(fresh_process_fingerprint(name),
                      os.path.join(PACKAGE_PRESETS_DIR, name))
