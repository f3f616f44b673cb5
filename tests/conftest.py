"""Shared pytest setup: quiet TensorFlow, deterministic seeds, the repository root, a tiny
trained preset."""

import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


# Files that run for minutes (subprocess trainings, fixtures that train), slowest first.
# With `make test` (-n 2 --dist=loadfile --no-loadscope-reorder) they are handed out before
# the many short files, so neither worker ends on a long file alone. Under bazel they are
# "large" tests (the `large` lists of tests/*/BUILD).
SLOW_FILES = (
    "tests/bin/test_workdirs.py",
    "tests/bin/test_binaries.py",
    "tests/rl/test_rl_finetune.py",
    "tests/training/test_distributed.py",
    "tests/rl/test_train_reward.py",
    "tests/apps/test_app_experiments.py",
    "tests/tools/test_speedrun.py",
    "tests/tools/test_bench.py",
    "tests/serving/test_export.py",
    "tests/convert/test_gpt2_workdir.py",
    "tests/evaluation/test_phf.py",
    "tests/rl/test_q_agent.py",
    "tests/bin/test_app_modes.py",
    "tests/bin/test_lora_finetune.py",
)


# `make test-fast` (the edit loop, under 3 minutes) leaves out the SLOW_FILES and these
# files, which start processes, train, or compile many decoding programs (marker "slow").
NOT_FAST = SLOW_FILES + (
    "tests/generation/test_generate.py",
    "tests/generation/test_samplers.py",
    "tests/generation/test_preference.py",
    "tests/training/test_trainer.py",
    "tests/training/test_compilation.py",
    "tests/training/test_resume.py",
    "tests/training/test_lora_training.py",
    "tests/bin/test_preset_start.py",
    "tests/bin/test_evaluate_lm.py",
    "tests/bin/test_ilql_finetune.py",
    "tests/evaluation/test_seq2seq.py",
    "tests/feedback/test_pep8.py",
    "tests/feedback/test_base.py",
    "tests/convert/test_gpt2_import.py",
    "tests/rl/test_agents.py",
    "tests/rl/test_group_agents.py",
    "tests/rl/test_export.py",
    "tests/rl/test_evaluation.py",
    "tests/tools/test_export_preset.py",
    "tests/models/test_trained_presets.py",
    "tests/models/test_keras_import.py",
)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: left out by `make test-fast` (NOT_FAST)")


def pytest_collection_modifyitems(items):
    rank = {path: i for i, path in enumerate(SLOW_FILES)}
    tests = pathlib.Path(__file__).parent  # not resolved: under bazel, a runfiles tree
    for item in items:
        item.repo_path = "tests/" + pathlib.Path(str(item.path)).relative_to(tests).as_posix()
        if item.repo_path in NOT_FAST:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: rank.get(item.repo_path, len(SLOW_FILES)))


@pytest.fixture(autouse=True)
def _seed():
    import keras
    keras.utils.set_random_seed(1234)


@pytest.fixture
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope="session")
def trained_preset(tmp_path_factory):
    """configs/lm_tiny.py trained for 3 steps by tfllm-pretrain and exported
    (tfllm.experiment.export_preset) as the trained preset "tiny_trained" of a presets
    folder of its own. Fields: workdir, presets_dir, name, directory (the preset's)."""
    import shlex
    import subprocess
    import types

    from tfllm.experiment import export_preset

    root = tmp_path_factory.mktemp("trained_preset")
    workdir, presets_dir, name = str(root / "workdir"), str(root / "presets"), "tiny_trained"
    os.makedirs(presets_dir)
    train = [sys.executable, "-m", "tfllm.bin.pretrain", "--config=configs/lm_tiny.py",
             f"--workdir={workdir}", "--config.training.steps=3", "--config.data.max_files=20",
             "--config.training.num_samples=0", "--config.training.progress=False"]
    done = subprocess.run(train, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    export_preset(workdir, name, presets_dir, shlex.join(train))
    return types.SimpleNamespace(workdir=workdir, presets_dir=presets_dir, name=name,
                                 directory=os.path.join(presets_dir, name))
