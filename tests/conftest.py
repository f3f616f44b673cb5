"""Shared pytest setup: quiet TensorFlow, deterministic seeds, the repository root."""

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
    "tests/evaluation/test_phf.py",
    "tests/rl/test_q_agent.py",
    "tests/bin/test_app_modes.py",
)


def pytest_collection_modifyitems(items):
    rank = {path: i for i, path in enumerate(SLOW_FILES)}
    tests = pathlib.Path(__file__).parent  # not resolved: under bazel, a runfiles tree
    items.sort(key=lambda item: rank.get(
        "tests/" + pathlib.Path(str(item.path)).relative_to(tests).as_posix(),
        len(SLOW_FILES)))


@pytest.fixture(autouse=True)
def _seed():
    import keras
    keras.utils.set_random_seed(1234)


@pytest.fixture
def repo_root():
    return REPO_ROOT
