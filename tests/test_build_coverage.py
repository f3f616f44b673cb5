"""Every module, test file, console script and config has a Bazel target.

The BUILD files are written by hand and glob their files. This test reads them without
Bazel (Starlark is Python syntax) and evaluates their globs as Bazel does: a glob stays
inside its package and does not descend into a subdirectory with a BUILD file of its own.
It checks that
- every file below tfllm/ is in the library //tfllm (so tfllm/ must have no other BUILD),
- every file below configs/ is in //configs,
- every file below tests/ belongs to a package whose BUILD calls tfllm_py_tests(), and
  every test file (what pytest collects) is one of that macro's py_tests,
- every console script of pyproject.toml is a tfllm_py_binary of the same name, module
  and function.
"""

import ast
import os
import re
import shutil
import tomllib

import pytest

# realpath: under `bazel test` this file is a symlink in a runfiles tree; the check
# looks at the real source tree.
ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
DEFS = "tools/bazel/defs.bzl"


def _build_file(path):
    """path/BUILD or path/BUILD.bazel, None when the directory is no Bazel package."""
    return next((f for f in (os.path.join(path, b) for b in ("BUILD.bazel", "BUILD"))
                 if os.path.isfile(f)), None)


def _pattern(glob):
    rx = ""
    parts = glob.split("/")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            rx += ".*" if last else "(?:.*/)?"
        else:
            rx += "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c)
                          for c in part) + ("" if last else "/")
    return re.compile(rx)


def glob(root, package, include, exclude=()):
    """Bazel's glob(): files of `package`, paths relative to it, sorted."""
    inc, exc = [_pattern(g) for g in include], [_pattern(g) for g in exclude]
    top, found = os.path.join(root, package), []
    for d, dirs, names in os.walk(top):
        dirs[:] = [n for n in dirs if not _build_file(os.path.join(d, n))]
        for name in names:
            rel = os.path.relpath(os.path.join(d, name), top).replace(os.sep, "/")
            if any(p.fullmatch(rel) for p in inc) and not any(p.fullmatch(rel) for p in exc):
                found.append(rel)
    return sorted(found)


def read_build(root, package):
    """The top-level calls of package/BUILD as [(function, {keyword: value})]."""
    path = _build_file(os.path.join(root, package))
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)

    def value(node):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "glob":
            return glob(root, package, *map(value, node.args),
                        **{k.arg: value(k.value) for k in node.keywords})
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return value(node.left) + value(node.right)
        try:
            return ast.literal_eval(node)
        except ValueError:
            raise ValueError(f"{path}:{node.lineno}: cannot evaluate {ast.unparse(node)}") from None

    return [(s.value.func.id, {k.arg: value(k.value) for k in s.value.keywords})
            for s in tree.body if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
            and isinstance(s.value.func, ast.Name)]


def _files(root, top):
    """Repository paths of the files below `top`, without caches and BUILD files."""
    out = []
    for d, dirs, names in os.walk(os.path.join(root, top)):
        dirs[:] = [n for n in dirs if n != "__pycache__"]
        out += [os.path.relpath(os.path.join(d, n), root).replace(os.sep, "/")
                for n in names if n not in ("BUILD", "BUILD.bazel")]
    return sorted(out)


def _packages(root, top):
    return sorted(os.path.relpath(d, root).replace(os.sep, "/")
                  for d, _, _ in os.walk(os.path.join(root, top)) if _build_file(d))


def _macros(root):
    """From defs.bzl: the test-file glob of tfllm_py_tests and tfllm_py_binary's defaults."""
    with open(os.path.join(root, DEFS), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    test_files = next(ast.literal_eval(s.value) for s in tree.body if isinstance(s, ast.Assign)
                      and s.targets[0].id == "TEST_FILES")
    binary = next(s for s in tree.body
                  if isinstance(s, ast.FunctionDef) and s.name == "tfllm_py_binary")
    args = binary.args.args[len(binary.args.args) - len(binary.args.defaults):]
    defaults = {a.arg: ast.literal_eval(d) for a, d in zip(args, binary.args.defaults)}
    return test_files, defaults


def _in_target(root, package, name):
    """Repository paths of the srcs and data of the target //package:name."""
    if not _build_file(os.path.join(root, package)):
        return set()
    return {f"{package}/{p}" for _, kw in read_build(root, package) if kw.get("name") == name
            for p in kw.get("srcs", []) + kw.get("data", [])}


def problems(root):
    """What has no target, one line each; [] when everything is covered."""
    out = []
    test_files, binary_defaults = _macros(root)
    for top in ("tfllm", "configs"):
        covered = _in_target(root, top, top)
        out += [f"{f}: not in //{top}" for f in _files(root, top) if f not in covered]

    test_packages = {p: kw for p in _packages(root, "tests") for k, kw in read_build(root, p)
                     if k == "tfllm_py_tests"}
    owned, tests = set(), set()
    for package, kw in test_packages.items():
        # The macro's test_support takes every file of the package that is not a test.
        owned |= {f"{package}/{f}" for f in glob(root, package, ["**"])}
        found = glob(root, package, [test_files])
        tests |= {f"{package}/{f}" for f in found}
        out += [f"{package}/BUILD: large names {n!r}, no test file"
                for n in kw.get("large", []) if f"{n}.py" not in found]
        parts = package.split("/")
        out += [f"{package}/BUILD: its tests need //{a}:test_support, but {a}/BUILD"
                " does not call tfllm_py_tests()" for a in
                ("/".join(parts[:i]) for i in range(1, len(parts))) if a not in test_packages]
    for f in _files(root, "tests"):
        name = f.rsplit("/", 1)[-1]
        if re.fullmatch(r"test_.*\.py|.*_test\.py", name) and f not in tests:
            out.append(f"{f}: no py_test; tfllm_py_tests() in the BUILD of its directory"
                       f" or one above makes one per {test_files}")
        elif f not in owned:
            out.append(f"{f}: in no package that calls tfllm_py_tests()")

    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        scripts = tomllib.load(f)["project"].get("scripts", {})
    binaries = {kw.get("name"): (kw.get("module"), kw.get("function", binary_defaults["function"]))
                for p in _packages(root, "tfllm") for k, kw in read_build(root, p)
                if k == "tfllm_py_binary"}
    for script, target in scripts.items():
        module, function = target.split(":")
        if binaries.get(script) != (module, function):
            out.append(f"pyproject.toml: console script {script} = {target} has no"
                       f" tfllm_py_binary(name = {script!r}, module = {module!r}) calling"
                       f" {function}() in tfllm/BUILD")
    return out


def test_repository_is_covered():
    found = problems(ROOT)
    assert found == [], "\n" + "\n".join(found)


# A small repository with the real macros; the tests below break it one way each.
TREE = {
    "pyproject.toml": '[project.scripts]\ntfllm-pretrain = "tfllm.bin.pretrain:run"\n',
    "tfllm/BUILD": 'load("//tools/bazel:defs.bzl", "tfllm_py_binary")\n'
                   'py_library(name = "tfllm", srcs = glob(["**/*.py"]),\n'
                   '           data = glob(["**"], exclude = ["**/*.py", "**/__pycache__/**", "BUILD"]))\n'
                   'tfllm_py_binary(name = "tfllm-pretrain", module = "tfllm.bin.pretrain")\n',
    "tfllm/__init__.py": "",
    "tfllm/layers/__init__.py": "",
    "tfllm/layers/dense.py": "",
    "tfllm/bin/__init__.py": "",
    "tfllm/bin/pretrain.py": "def run():\n    pass\n",
    "configs/BUILD": 'filegroup(name = "configs", srcs = glob(["**"], exclude = ["BUILD"]))\n',
    "configs/tiny.py": "",
    "tests/BUILD": 'load("//tools/bazel:defs.bzl", "tfllm_py_tests")\ntfllm_py_tests()\n',
    "tests/conftest.py": "",
    "tests/test_top.py": "",
    "tests/layers/BUILD": 'tfllm_py_tests(large = ["test_dense"])\n',
    "tests/layers/test_dense.py": "",
    "tests/layers/fixtures/dense.keras": "",
}


def _write(root, rel, text=""):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


@pytest.fixture
def tree(tmp_path):
    for rel, text in TREE.items():
        _write(str(tmp_path), rel, text)
    os.makedirs(tmp_path / "tools/bazel")
    shutil.copy(os.path.join(ROOT, DEFS), tmp_path / DEFS)
    return str(tmp_path)


def test_glob_has_bazels_semantics(tree):
    _write(tree, "tfllm/layers/sub/BUILD")
    _write(tree, "tfllm/layers/sub/deep.py")
    _write(tree, "tfllm/layers/__pycache__/dense.cpython-311.pyc")
    assert glob(tree, "tfllm", ["**/*.py"]) == [
        "__init__.py", "bin/__init__.py", "bin/pretrain.py", "layers/__init__.py", "layers/dense.py"]
    assert glob(tree, "tfllm", ["*.py", "layers/*"], exclude=["**/__init__.py"]) == ["layers/dense.py"]
    assert glob(tree, "tfllm", ["**"], exclude=["**/*.py", "BUILD"]) == [
        "layers/__pycache__/dense.cpython-311.pyc"]


def test_small_tree_is_covered(tree):
    assert problems(tree) == []
    # A test directory without a BUILD file belongs to the package above it.
    _write(tree, "tests/layers/more/test_more.py")
    assert problems(tree) == []


def test_module_cut_off_by_a_subpackage_build(tree):
    _write(tree, "tfllm/layers/BUILD", 'py_library(name = "layers", srcs = glob(["*.py"]))\n')
    _write(tree, "tfllm/layers/rotary.py")
    assert problems(tree) == [f"tfllm/layers/{f}: not in //tfllm"
                              for f in ("__init__.py", "dense.py", "rotary.py")]


def test_test_without_a_test_package(tree):
    os.remove(os.path.join(tree, "tests/BUILD"))
    _write(tree, "tests/models/test_new.py")
    found = problems(tree)
    assert "tests/models/test_new.py: no py_test" in "\n".join(found)
    assert "tests/test_top.py: no py_test" in "\n".join(found)
    assert "tests/conftest.py: in no package that calls tfllm_py_tests()" in found
    assert ("tests/layers/BUILD: its tests need //tests:test_support, but tests/BUILD"
            " does not call tfllm_py_tests()") in found


def test_test_behind_a_build_without_the_macro(tree):
    _write(tree, "tests/layers/fixtures/BUILD", 'exports_files(["dense.keras"])\n')
    _write(tree, "tests/layers/fixtures/test_fixture.py")
    _write(tree, "tests/layers/widget_test.py")
    found = "\n".join(problems(tree))
    assert "tests/layers/fixtures/test_fixture.py: no py_test" in found
    assert "tests/layers/fixtures/dense.keras: in no package" in found
    assert "tests/layers/widget_test.py: no py_test" in found


def test_missing_console_script_and_config(tree):
    _write(tree, "pyproject.toml", TREE["pyproject.toml"] + 'tfllm-export = "tfllm.bin.export:main"\n')
    _write(tree, "configs/BUILD", 'filegroup(name = "configs", srcs = ["tiny.py"])\n')
    _write(tree, "configs/big.py")
    _write(tree, "tests/layers/BUILD", 'tfllm_py_tests(large = ["test_gone"])\n')
    found = problems(tree)
    assert found[0] == "configs/big.py: not in //configs"
    assert found[1] == "tests/layers/BUILD: large names 'test_gone', no test file"
    assert found[2].startswith("pyproject.toml: console script tfllm-export = tfllm.bin.export:main")
    assert len(found) == 3
