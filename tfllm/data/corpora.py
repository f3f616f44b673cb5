"""Embedded corpora built from the running Python (no download; PSF License).

- `python_stdlib_code`: the stdlib's .py files (sysconfig "stdlib" path; site-packages,
  test packages `test/`, `tests/`, `idle_test/` and the generated `_sysconfigdata*`
  excluded), each line scored with pycodestyle violations per character.
- `python_docs_text`: English prose: `pydoc_data.topics` and stdlib module docstrings.
- `python_code_to_docstring`: (function source without its docstring -> first
  docstring line) pairs from stdlib functions.

Splits are stable: a file belongs to train / validation / test (90/5/5) by the SHA-256
of its path relative to the stdlib folder (pydoc topics by "pydoc_topics/<name>").
PEP8 counts are cached in $TFLLM_CACHE_DIR (default ~/.cache/tfllm), keyed by Python
and pycodestyle versions, computed in parallel processes and written atomically.

Example:
    corpus = corpora.load("python_stdlib_code", split="train")
    corpus.size(tokenizer)  # {"documents": ..., "characters": ..., "tokens": ...}
"""

import ast
import concurrent.futures
import dataclasses
import hashlib
import json
import multiprocessing
import os
import platform
import sysconfig
import textwrap

from tfllm.data import sources

SPLITS = {"train": (0, 90), "validation": (90, 95), "test": (95, 100)}
_EXCLUDED_DIRS = {"site-packages", "test", "tests", "idle_test", "__pycache__"}


@dataclasses.dataclass(frozen=True)
class Document:
    """One corpus document. `"".join(segments) == text`; `target` only for pair corpora."""

    text: str
    segments: tuple
    segment_scores: tuple
    source: str
    target: str = None

    @property
    def document_score(self):
        """Character-weighted mean of the segment scores (pep8: violations per character)."""
        if not self.text:
            return 0.0
        return sum(s * len(g) for g, s in zip(self.segments, self.segment_scores)) / len(
            self.text)


class Corpus:
    """A list of `Document`s with its name, split and size.

    Iterating yields Documents; `texts`, `pairs` give plain Python data for the
    pipelines (`tfllm.data.make_lm_dataset(corpus, ...)` accepts the corpus itself).
    """

    def __init__(self, name, split, documents):
        self.name = name
        self.split = split
        self.documents = list(documents)

    def __iter__(self):
        return iter(self.documents)

    def __len__(self):
        return len(self.documents)

    def __getitem__(self, index):
        return self.documents[index]

    @property
    def texts(self):
        return [d.text for d in self.documents]

    @property
    def pairs(self):
        """(source, target) pairs (for `python_code_to_docstring`)."""
        return [(d.text, d.target) for d in self.documents]

    def to_dataset(self):
        """A tf.data document dataset {"segments": string [S], "scores": float32 [S]}."""
        from tfllm.data import documents

        return documents.documents_dataset(self.documents)

    def size(self, tokenizer=None):
        """dict(documents, characters[, tokens]) (targets included for pair corpora)."""
        texts = self.texts + [d.target for d in self.documents if d.target is not None]
        out = {"documents": len(self.documents), "characters": sum(map(len, texts))}
        if tokenizer is not None:
            out["tokens"] = sum(len(ids) for i in range(0, len(texts), 256)
                                for ids in tokenizer.encode(texts[i:i + 256]))
        return out

    def __repr__(self):
        size = self.size()
        return (f"Corpus({self.name!r}, split={self.split!r}, documents={size['documents']}, "
                f"characters={size['characters']})")


def split_of(key):
    """"train", "validation" or "test" for a stable key (a relative path)."""
    bucket = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % 100
    return next(name for name, (lo, hi) in SPLITS.items() if lo <= bucket < hi)


def stdlib_dir():
    return sysconfig.get_paths()["stdlib"]


def _is_generated_table(path):
    """True for the machine-made codec tables (encodings/cp1252.py...): their header
    says they were generated with gencodec.py; they are 10% of the stdlib's bytes but
    hex mapping tables, not code anyone writes."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return "gencodec.py" in f.read(1024)


def stdlib_files(max_files=None):
    """Relative paths of the stdlib .py files in the corpus, sorted (first `max_files`).

    Tests, site-packages and the generated codec tables are left out."""
    root = stdlib_dir()
    out = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _EXCLUDED_DIRS)
        for name in sorted(names):
            path = os.path.join(folder, name)
            if (name.endswith(".py") and not name.startswith("_sysconfigdata")
                    and not _is_generated_table(path)):
                out.append(os.path.relpath(path, root))
    out.sort()
    return out[:max_files] if max_files is not None else out


def cache_dir():
    return os.environ.get("TFLLM_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "tfllm")


def _pep8_cache_path():
    import pycodestyle

    return os.path.join(cache_dir(), f"pep8_lines-py{platform.python_version()}-"
                                     f"pycodestyle{pycodestyle.__version__}.json")


def _count_file(path):
    from tfllm.feedback.pycodestyle_counts import pep8_violations_per_line

    return pep8_violations_per_line(sources.read_text(path))


def _read_stdlib(relative):
    """Text of a stdlib file, or None for the few that are not UTF-8 (skipped)."""
    try:
        return sources.read_text(os.path.join(stdlib_dir(), relative))
    except ValueError:
        return None


def pep8_line_counts(files, num_workers=None):
    """{relative path: per-line violation counts} for stdlib `files`, through the cache.

    Missing or stale entries (SHA-256 of the text changed) are computed in `num_workers`
    processes (default: all cores) and merged into the cache file atomically.
    """
    path = _pep8_cache_path()
    cache = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            cache = json.load(f)
    texts = {rel: _read_stdlib(rel) for rel in files}
    texts = {rel: text for rel, text in texts.items() if text is not None}
    digests = {rel: hashlib.sha256(text.encode("utf-8")).hexdigest()
               for rel, text in texts.items()}
    todo = [rel for rel in texts if cache.get(rel, {}).get("sha256") != digests[rel]]
    if todo:
        workers = num_workers or os.cpu_count() or 1
        full_paths = [os.path.join(stdlib_dir(), rel) for rel in todo]
        if workers > 1 and len(todo) > 8:
            # fork: workers run only pycodestyle (pure Python), start at once and need
            # no importable __main__ (spawn fails for stdin scripts and notebooks).
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
                counts = list(pool.map(_count_file, full_paths, chunksize=8))
        else:
            counts = [_count_file(p) for p in full_paths]
        for rel, c in zip(todo, counts):
            cache[rel] = {"sha256": digests[rel], "counts": c}
        from tfllm.tokenizers.base import write_atomically

        write_atomically(path, json.dumps(cache, separators=(",", ":"), sort_keys=True))
    return {rel: cache[rel]["counts"] for rel in texts}, texts


def _stdlib_code(split, max_files=None, num_workers=None):
    files = [rel for rel in stdlib_files(max_files) if split_of(rel) == split]
    counts, texts = pep8_line_counts(files, num_workers)
    documents = []
    for rel, text in texts.items():
        lines = text.splitlines(keepends=True)
        scores = tuple(c / len(line) for c, line in zip(counts[rel], lines))
        documents.append(Document(text, tuple(lines), scores, rel))
    return documents


def _docs_text(split, max_files=None):
    from pydoc_data import topics

    documents = []
    for name in sorted(topics.topics):
        key = f"pydoc_topics/{name}"
        if split_of(key) == split and topics.topics[name].strip():
            documents.append(_plain(topics.topics[name], key))
    for rel in stdlib_files(max_files):
        if split_of(rel) != split:
            continue
        module = _parse(rel)
        docstring = module and ast.get_docstring(module, clean=True)
        if docstring and len(docstring) >= 80:
            documents.append(_plain(docstring + "\n", rel))
    return documents


def _plain(text, source):
    return Document(text, (text,), (0.0,), source)


def _parse(rel):
    text = _read_stdlib(rel)
    if text is None:
        return None
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


def _code_to_docstring(split, max_files=None):
    documents = []
    for rel in stdlib_files(max_files):
        if split_of(rel) != split:
            continue
        module = _parse(rel)
        if module is None:
            continue
        lines = _read_stdlib(rel).splitlines(keepends=True)
        for node in ast.walk(module):
            pair = _function_pair(node, lines)
            if pair:
                documents.append(Document(pair[0], (pair[0],), (0.0,),
                                          f"{rel}:{node.lineno}", target=pair[1]))
    return documents


def _function_pair(node, lines):
    """(dedented source without the docstring, first docstring line) or None."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    docstring = ast.get_docstring(node, clean=True)
    if not docstring or len(node.body) < 2:
        return None
    summary = docstring.strip().splitlines()[0].strip()
    doc_node = node.body[0]
    own_lines = (not lines[doc_node.lineno - 1][:doc_node.col_offset].strip()
                 and node.body[1].lineno > doc_node.end_lineno)
    if not summary or not own_lines:
        return None
    first = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
    kept = lines[first:doc_node.lineno - 1] + lines[doc_node.end_lineno:node.end_lineno]
    return textwrap.dedent("".join(kept)).rstrip("\n") + "\n", summary


_BUILDERS = {
    "python_stdlib_code": _stdlib_code,
    "python_docs_text": _docs_text,
    "python_code_to_docstring": _code_to_docstring,
}
NAMES = tuple(_BUILDERS)


def load(name, split="train", max_files=None, **options):
    """Loads an embedded corpus split.

    Args:
        name: "python_stdlib_code", "python_docs_text" or "python_code_to_docstring".
        split: "train", "validation" or "test".
        max_files: use only the first N stdlib files (sorted paths), for quick runs.
        **options: `num_workers` for python_stdlib_code's PEP8 counting.

    Raises:
        ValueError: unknown name or split, or an empty result.
    """
    if name not in _BUILDERS:
        raise ValueError(f"unknown corpus {name!r}; expected one of {list(NAMES)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
    documents = _BUILDERS[name](split, max_files=max_files, **options)
    if not documents:
        raise ValueError(f"corpus {name!r} split {split!r} (max_files={max_files}) is empty")
    return Corpus(name, split, documents)
