# bazel: size=small
"""Every module under tfllm/ and every test file under tests/ has a Bazel target.

Runs tools/gen_build.py's check logic in-process: no Bazel needed, well under a second.
After adding files: .venv/bin/python tools/gen_build.py
"""

import importlib.util
import os
import sys

import pytest

# realpath: under `bazel test` this file is a symlink in a runfiles tree; the check
# looks at the real source tree.
ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def _load_gen_build():
    path = os.path.join(ROOT, "tools", "gen_build.py")
    spec = importlib.util.spec_from_file_location("tfllm_tools_gen_build", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


gen_build = _load_gen_build()


def _write(root, rel, text=""):
    full = os.path.join(root, rel)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as f:
        f.write(text)


def test_repository_is_covered():
    result = gen_build.check(ROOT)
    assert result.ok, "\n" + result.report()


def test_every_module_and_test_in_a_target():
    # The same question asked directly, so a bug in CheckResult.ok cannot hide gaps.
    info = gen_build._read_builds(ROOT)
    modules = [p for p in gen_build._walk(ROOT, "tfllm") if p.endswith(".py")]
    tests = [p for p in gen_build._walk(ROOT, "tests") if gen_build.is_test_file(p)]
    assert modules and "tests/test_build_coverage.py" in tests
    assert sorted(set(modules) - info.py_srcs) == []
    assert sorted(set(tests) - info.test_srcs) == []


@pytest.fixture
def tree(tmp_path):
    root = str(tmp_path)
    _write(root, "pyproject.toml", '[project.scripts]\ntfllm-pretrain = "tfllm.bin.pretrain:run"\n')
    _write(root, "tfllm/__init__.py")
    _write(root, "tfllm/layers/__init__.py", "from tfllm.layers.dense import Dense\n")
    _write(root, "tfllm/layers/dense.py", "import keras\n")
    _write(root, "tfllm/models/__init__.py", "from ..layers import dense\n")
    _write(root, "tfllm/bin/__init__.py")
    _write(root, "tfllm/bin/pretrain.py", "def run():\n    pass\n")
    _write(root, "tests/conftest.py")
    _write(root, "tests/layers/test_dense.py", "def test_x():\n    pass\n")
    _write(root, "tests/test_top.py", "# bazel: size=large\n")
    _write(root, "configs/base.py")
    gen_build.write(root)
    return root


def test_generated_tree_is_covered_and_deterministic(tree):
    result = gen_build.check(tree)
    assert result.ok and not result.stale, result.report()
    with open(os.path.join(tree, "tfllm/models/BUILD")) as f:
        models = f.read()
    assert '"//tfllm/layers"' in models  # deps come from the imports
    with open(os.path.join(tree, "tfllm/bin/BUILD")) as f:
        binaries = f.read()
    assert 'module = "tfllm.bin.pretrain"' in binaries and '"tfllm-pretrain"' in binaries
    with open(os.path.join(tree, "tests/BUILD")) as f:
        assert 'size = "large"' in f.read()
    assert gen_build.write(tree) == []  # a second run changes nothing


def test_check_names_an_uncovered_module_and_test(tree):
    _write(tree, "tfllm/layers/rotary.py")
    _write(tree, "tests/models/test_new.py")
    result = gen_build.check(tree)
    assert not result.ok
    assert result.uncovered_modules == ["tfllm/layers/rotary.py"]
    assert result.uncovered_tests == ["tests/models/test_new.py"]
    report = result.report()
    assert "tfllm/layers/rotary.py" in report and "tests/models/test_new.py" in report
    assert gen_build.main(["--root", tree, "--check"]) == 1
    gen_build.write(tree)
    assert gen_build.check(tree).ok
    assert gen_build.main(["--root", tree, "--check"]) == 0


def test_check_names_a_deleted_file(tree):
    os.remove(os.path.join(tree, "tfllm/layers/dense.py"))
    result = gen_build.check(tree)
    assert not result.ok and result.missing == ["tfllm/layers/dense.py"]


def test_import_cycle_is_not_a_bazel_cycle(tree):
    _write(tree, "tfllm/layers/__init__.py", "import tfllm.models\n")
    gen_build.write(tree)
    with open(os.path.join(tree, "tfllm/layers/BUILD")) as f:
        layers = f.read()
    with open(os.path.join(tree, "tfllm/models/BUILD")) as f:
        models = f.read()
    assert '"//tfllm/models"' not in layers and '"//tfllm/layers"' not in models
    assert "Import cycle" in layers
