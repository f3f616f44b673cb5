"""No module of tfllm imports from a higher layer than its own.

The parts of tfllm (its subpackages, and the modules directly under tfllm/) are stacked
in LAYERS, lowest first. A module may import from its own part and from lower layers,
never from a higher one: the dependencies then form no cycle, a lower part can be used
(and tested) without the ones above it, and a move that needs an upward import shows up
here as a failure that names the file and line.

Every import counts: top-level ones and those inside functions (deferred imports still
tie the two parts together), `import tfllm.x`, `from tfllm.x import y`,
`from tfllm import x` and relative imports. The check reads the sources with `ast`;
nothing is imported, so it runs in well under a second without TensorFlow.
"""

import ast
import os

import pytest

# realpath: under `bazel test` this file is a symlink in a runfiles tree.
ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))

# Lowest first. Why this order (derived from the imports in tfllm/):
#   files        plain file I/O (atomic writes, globs, UTF-8 text); standard library only
#   native_log   known harmless native log lines dropped from stderr; standard library only
#   layers       Keras layers
#   models       Keras models built from the layers (and frozen copies of them)
#   tokenizers   text <-> ids; read training text through `files`
#   feedback     scorers of text (PEP 8, toxicity, reward models loaded with a tokenizer)
#   data         corpora and tf.data pipelines: tokenize, annotate with feedback scores
#   generation   decoding with models
#   objectives   losses on models' outputs
#   training     the training loop, strategies, summaries
#   rl           policies, agents, environments and rewards over generation and objectives
#   experiment   config -> corpus, tokenizer, dataset, model, trainer, RL environment
#                (the builders that the binaries and the PHF evaluation share)
#   evaluation   metrics of models and samples, and the PHF evaluation of an experiment
#   serving      exported text-generation signatures
#   convert      checkpoint conversion into tfllm models
#   bin          the command-line programs: may import everything
LAYERS = (
    "files",
    "native_log",
    "layers",
    "models",
    "tokenizers",
    "feedback",
    "data",
    "generation",
    "objectives",
    "training",
    "rl",
    "experiment",
    "evaluation",
    "serving",
    "convert",
    "bin",
)
# tfllm/__init__.py, the package itself, stands outside the layers: it may import any part
# (it registers the Keras classes of layers, models and training), and any module may
# import it (`from tfllm import __version__`): it is loaded before every submodule anyway.
PACKAGE = "tfllm"


def part_of_file(rel):
    """The part of tfllm that the file `rel` (relative to tfllm/) belongs to."""
    head, _, rest = rel.partition("/")
    if rest:
        return head
    return PACKAGE if head == "__init__.py" else head[:-len(".py")]


def module_of_file(rel):
    """(dotted module name, dotted package name) of tfllm/`rel`."""
    parts = ["tfllm"] + rel[:-len(".py")].split("/")
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def part_of_module(name, top_names):
    """The part of tfllm that the dotted module `name` lies in; None outside tfllm."""
    parts = name.split(".")
    if parts[0] != "tfllm":
        return None
    if len(parts) == 1 or parts[1] not in top_names:
        return PACKAGE  # tfllm itself, or a name defined in tfllm/__init__.py
    return parts[1]


def imported_modules(node, package):
    """The dotted names an Import/ImportFrom node imports (submodules where a
    `from X import name` may name one; part_of_module sorts the rest out)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = package.split(".")
        base = base[:len(base) - (node.level - 1)]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module
    if module == "tfllm":  # `from tfllm import data`: the part is the imported name
        return [f"tfllm.{alias.name}" for alias in node.names]
    return [module]


def violations(root):
    """'file:line imports X (layer N: part) from layer M (part)' for each upward import,
    and 'tfllm/x is in no layer' for each part missing from LAYERS."""
    tfllm_dir = os.path.join(root, "tfllm")
    top_names = {name[:-3] if name.endswith(".py") else name
                 for name in os.listdir(tfllm_dir) if name != "__init__.py"}
    rank = {part: i for i, part in enumerate(LAYERS)}
    rank[PACKAGE] = len(LAYERS)
    problems = []
    for directory, dirs, files in os.walk(tfllm_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__")))
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, tfllm_dir).replace(os.sep, "/")
            part = part_of_file(rel)
            if part not in rank:
                problems.append(f"tfllm/{rel}: part {part!r} is in no layer: add it to "
                                f"LAYERS in tests/test_layers.py")
                continue
            _, package = module_of_file(rel)
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                for module in imported_modules(node, package):
                    target = part_of_module(module, top_names)
                    if target in (None, part, PACKAGE):
                        continue
                    if target not in rank:
                        problems.append(f"tfllm/{rel}:{node.lineno} imports {module}: part "
                                        f"{target!r} is in no layer")
                    elif rank[target] > rank[part]:
                        problems.append(f"tfllm/{rel}:{node.lineno} imports {module} (layer "
                                        f"{rank[target]}: {target}) from layer {rank[part]} "
                                        f"({part})")
    return problems


@pytest.fixture(autouse=True)
def _seed():
    """Overrides tests/conftest.py's seeding fixture, which imports Keras: nothing here
    is random, and the check runs in a fraction of a second without TensorFlow."""


def test_no_import_from_a_higher_layer():
    problems = violations(ROOT)
    assert not problems, "upward imports (see LAYERS in tests/test_layers.py):\n" + "\n".join(
        problems)


def _write(root, rel, text=""):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


@pytest.fixture
def tree(tmp_path):
    root = str(tmp_path)
    _write(root, "tfllm/__init__.py", "from tfllm import layers, models\n__version__ = '1'\n")
    _write(root, "tfllm/files.py", "import os\n")
    _write(root, "tfllm/layers/__init__.py", "from tfllm.layers.dense import Dense\n")
    _write(root, "tfllm/layers/dense.py", "from tfllm import files\nimport tfllm.files\n")
    _write(root, "tfllm/models/__init__.py", "from ..layers import dense\nfrom . import lm\n")
    _write(root, "tfllm/models/lm.py", "from .. import layers\n")
    _write(root, "tfllm/bin/run.py", "import tfllm\nfrom tfllm import __version__\n"
                                "from tfllm.models import lm\n")
    return root


def test_checker_accepts_downward_and_same_part_imports(tree):
    assert violations(tree) == []


def test_checker_finds_upward_imports_of_every_form(tree):
    _write(tree, "tfllm/layers/dense.py", "import os\n\n\ndef f():\n"
                                          "    from tfllm.bin import run\n"
                                          "    import tfllm.models.lm\n")
    _write(tree, "tfllm/models/lm.py", "from ..bin import run\nfrom tfllm import bin\n"
                                       "import tfllm\nfrom tfllm import __version__\n")
    assert violations(tree) == [
        "tfllm/layers/dense.py:5 imports tfllm.bin (layer 15: bin) from layer 2 (layers)",
        "tfllm/layers/dense.py:6 imports tfllm.models.lm (layer 3: models) from layer 2 "
        "(layers)",
        "tfllm/models/lm.py:1 imports tfllm.bin (layer 15: bin) from layer 3 (models)",
        "tfllm/models/lm.py:2 imports tfllm.bin (layer 15: bin) from layer 3 (models)",
    ]


def test_checker_names_a_part_in_no_layer(tree):
    _write(tree, "tfllm/extras/__init__.py", "")
    _write(tree, "tfllm/models/lm.py", "from tfllm.extras import x\n")
    assert violations(tree) == [
        "tfllm/extras/__init__.py: part 'extras' is in no layer: add it to LAYERS in "
        "tests/test_layers.py",
        "tfllm/models/lm.py:1 imports tfllm.extras: part 'extras' is in no layer",
    ]
