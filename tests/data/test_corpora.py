import ast
import json
import os

import pytest

from tfllm.data import corpora
from tfllm.feedback.pycodestyle_counts import pep8_violations_per_line
from tfllm.tokenizers import Tokenizer

N = 25


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TFLLM_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_stdlib_code_scores_and_cache(cache, monkeypatch):
    corpus = corpora.load("python_stdlib_code", "train", max_files=N, num_workers=2)
    assert len(corpus) > 15
    doc = corpus[0]
    assert "".join(doc.segments) == doc.text
    counts = pep8_violations_per_line(doc.text)
    assert list(doc.segment_scores) == [c / len(line) for c, line in
                                        zip(counts, doc.segments)]
    assert doc.document_score == pytest.approx(sum(counts) / len(doc.text))
    first = next(iter(corpus.to_dataset()))
    assert first["segments"].numpy().tolist() == [s.encode() for s in doc.segments]
    assert first["scores"].numpy().tolist() == pytest.approx(list(doc.segment_scores))
    [cache_file] = os.listdir(cache)
    assert "pycodestyle" in cache_file and "py3" in cache_file

    def fail(path):
        raise AssertionError("recomputed a cached file")

    monkeypatch.setattr(corpora, "_count_file", fail)
    again = corpora.load("python_stdlib_code", "train", max_files=N)
    assert [d.segment_scores for d in again] == [d.segment_scores for d in corpus]


def test_stale_cache_entry_is_recomputed(cache):
    corpus = corpora.load("python_stdlib_code", "train", max_files=5, num_workers=1)
    [name] = os.listdir(cache)
    data = json.loads((cache / name).read_text())
    rel = corpus[0].source
    data[rel] = {"sha256": "stale", "counts": [99]}
    (cache / name).write_text(json.dumps(data))
    again = corpora.load("python_stdlib_code", "train", max_files=5, num_workers=1)
    assert again[0].segment_scores == corpus[0].segment_scores
    assert json.loads((cache / name).read_text())[rel]["sha256"] != "stale"


def test_cache_write_is_atomic(cache, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        corpora.load("python_stdlib_code", "train", max_files=3, num_workers=1)
    assert os.listdir(cache) == []


def test_splits_are_stable_disjoint_and_cover(cache):
    files = corpora.stdlib_files(60)
    by_split = {s: [f for f in files if corpora.split_of(f) == s] for s in corpora.SPLITS}
    assert sum(map(len, by_split.values())) == len(files)
    assert len(by_split["train"]) > len(by_split["test"])
    assert corpora.split_of("json/decoder.py") == corpora.split_of("json/decoder.py")
    assert not any("site-packages" in f or f.startswith("test/") for f in
                   corpora.stdlib_files())


def test_docs_text():
    corpus = corpora.load("python_docs_text", "validation", max_files=N)
    assert all(d.text.strip() for d in corpus)
    assert sum(" the " in d.text for d in corpus) > len(corpus) / 2
    size = corpus.size(Tokenizer.train([], None, kind="byte"))
    assert size["tokens"] >= size["characters"] > 1000


def test_code_to_docstring_pairs():
    corpus = corpora.load("python_code_to_docstring", "train", max_files=N)
    assert len(corpus) > 50
    for source, summary in corpus.pairs[:50]:
        assert summary and "\n" not in summary
        tree = ast.parse(source)
        function = tree.body[0]
        assert isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
        assert ast.get_docstring(function) is None or \
            ast.get_docstring(function) != summary


def test_bad_names():
    with pytest.raises(ValueError, match="unknown corpus"):
        corpora.load("wikipedia")
    with pytest.raises(ValueError, match="unknown split"):
        corpora.load("python_docs_text", "dev")


def test_real_cached_stdlib_corpus():
    path = corpora._pep8_cache_path()
    if not os.path.exists(path):
        pytest.skip(f"{path} not built yet (first build ~70 s on 2 cores: "
                    f"python -c \"from tfllm.data import corpora; "
                    f"corpora.load('python_stdlib_code')\")")
    corpus = corpora.load("python_stdlib_code", "test")
    size = corpus.size()
    assert size["documents"] > 10 and size["characters"] > 100_000
    assert 0 < sum(d.document_score for d in corpus) / len(corpus) < 0.05
