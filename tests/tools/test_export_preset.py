"""tools/export_preset.py: a workdir becomes a small model-only preset, written atomically;
bad input is one line and leaves nothing behind."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import tensorflow as tf

from tfllm import experiment
from tfllm.experiment.presets import directory_bytes, export_preset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def variable_names(checkpoints):
    return [name for name, _ in tf.train.list_variables(tf.train.latest_checkpoint(checkpoints))]


def test_a_preset_is_a_minimal_workdir_with_its_provenance(trained_preset):
    source, preset_dir = trained_preset.workdir, trained_preset.directory
    assert sorted(os.listdir(preset_dir)) == ["checkpoints", "config.json", "model.json",
                                              "preset.json", "tokenizer"]
    for name in ("config.json", "model.json"):
        with open(os.path.join(source, name), "rb") as a, open(os.path.join(preset_dir, name),
                                                               "rb") as b:
            assert a.read() == b.read(), name
    assert os.listdir(os.path.join(preset_dir, "tokenizer")) == ["tokenizer.json"]
    with open(os.path.join(preset_dir, "preset.json"), encoding="utf-8") as f:
        preset = json.load(f)
    assert preset["source_workdir"] == source and preset["source_step"] == 3
    assert preset["parameters"] == experiment.load_model(source).count_params()
    assert preset["command"].split()[1:4] == ["-m", "tfllm.bin.pretrain",
                                              "--config=configs/lm_tiny.py"]
    preset_json_bytes = os.path.getsize(os.path.join(preset_dir, "preset.json"))
    assert preset["size_bytes"] == directory_bytes(preset_dir) - preset_json_bytes
    # the model's variables only (4 bytes each), not the optimizer's slots
    names = variable_names(os.path.join(preset_dir, "checkpoints"))
    assert not any("optimizer" in n for n in names)
    assert any("optimizer" in n for n in variable_names(os.path.join(source, "checkpoints")))
    assert preset["size_bytes"] < 1.1 * 4 * preset["parameters"] + 20_000


def without_checkpoints(workdir, copy):
    """A copy of `workdir` without its checkpoints folder."""
    shutil.copytree(workdir, copy, ignore=shutil.ignore_patterns("checkpoints"))
    return str(copy)


def bad_exports(trained_preset, tmp_path):
    """{case: (export_preset arguments, the error's text)} of exports that must fail."""
    no_checkpoints = without_checkpoints(trained_preset.workdir, tmp_path / "no_checkpoints")
    good = dict(workdir=trained_preset.workdir, name="other", command="train it")
    return {
        "no checkpoints": ({**good, "workdir": no_checkpoints},
                           f"{no_checkpoints}/checkpoints: no checkpoint found"),
        "no workdir": ({**good, "workdir": str(tmp_path / "missing")},
                       f"{tmp_path}/missing/config.json: missing"),
        "over the size limit": ({**good, "max_bytes": 1000}, "bytes, more than the 1,000 a "
                                                             "preset may"),
        "name taken": ({**good, "name": trained_preset.name}, "exists: remove it first"),
        "an architecture's name": ({**good, "name": "tiny"}, "not an architecture's"),
        "not a folder name": ({**good, "name": "../up"}, "expected lower-case letters"),
        "no command": ({**good, "command": " "}, "no command: give the command"),
    }


def test_bad_input_raises_and_writes_nothing(trained_preset, tmp_path):
    before = sorted(os.listdir(trained_preset.presets_dir))
    for case, (arguments, message) in bad_exports(trained_preset, tmp_path).items():
        with pytest.raises(ValueError) as error:
            export_preset(presets_dir=trained_preset.presets_dir, **arguments)
        assert message in str(error.value), case
        assert sorted(os.listdir(trained_preset.presets_dir)) == before, case


def run_tool(*args):
    return subprocess.run([sys.executable, "tools/export_preset.py", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_the_tool_states_the_size_and_bad_input_in_one_line(trained_preset, tmp_path):
    presets_dir = tmp_path / "presets"
    presets_dir.mkdir()
    workdir = without_checkpoints(trained_preset.workdir, tmp_path / "no_checkpoints")
    args = ["--name=other", f"--presets_dir={presets_dir}", "--command=tfllm-pretrain ..."]
    failed = run_tool(f"--workdir={workdir}", *args)
    assert failed.returncode == 1
    assert failed.stderr.strip() == (
        f"export_preset.py: error: {workdir}/checkpoints: no checkpoint found")
    assert not os.listdir(presets_dir)
    done = run_tool(f"--workdir={trained_preset.workdir}", *args)
    assert done.returncode == 0, done.stderr[-2000:]
    assert os.listdir(presets_dir) == ["other"]
    size = directory_bytes(str(presets_dir / "other"))
    assert done.stdout.strip() == (f"wrote preset other (26,528 parameters, step 3) to "
                                   f"{presets_dir}/other: {size:,} bytes")
