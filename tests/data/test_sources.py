import importlib.util

import pytest

from tfllm.data import sources


def test_expand_files_directories_globs(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.txt", "b.py", "sub/c.txt"):
        (tmp_path / name).write_text(name)
    assert sources.expand_paths(str(tmp_path), suffixes=(".txt",)) == [
        str(tmp_path / "a.txt"), str(tmp_path / "sub/c.txt")]
    assert sources.expand_paths(str(tmp_path / "**/*.txt")) == [
        str(tmp_path / "a.txt"), str(tmp_path / "sub/c.txt")]
    assert list(sources.read_texts([str(tmp_path / "b.py")])) == ["b.py"]


def test_missing_and_empty(tmp_path):
    with pytest.raises(ValueError, match="nope.txt: no such file or directory"):
        sources.expand_paths(str(tmp_path / "nope.txt"))
    with pytest.raises(ValueError, match="matches no file"):
        sources.expand_paths(str(tmp_path / "*.md"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty corpus"):
        sources.expand_paths(str(tmp_path / "empty"))


def test_non_utf8_reports_file_and_offset(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9\nok\n")
    with pytest.raises(ValueError, match=r"latin1.txt: invalid UTF-8 at byte offset 3"):
        sources.read_text(str(path))
    assert sources.read_text(str(path), errors="replace") == "caf\ufffd\nok\n"
    tsv = tmp_path / "x.tsv"
    tsv.write_bytes(b"a\tb\nc\t\xff\n")
    with pytest.raises(ValueError, match=r"x.tsv:2: invalid UTF-8 at byte offset 6"):
        list(sources.read_tsv(str(tsv)))


def test_jsonl_errors(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a"}\n[1, 2]\n')
    with pytest.raises(ValueError, match=r"d.jsonl:2: expected a JSON object, got list"):
        list(sources.read_jsonl(str(path), ("text",)))


@pytest.mark.skipif(importlib.util.find_spec("tensorflow_datasets") is not None,
                    reason="tensorflow-datasets is installed: the error path is not taken")
def test_tfds_without_package():
    with pytest.raises(ValueError, match=r"needs tensorflow-datasets"):
        list(sources.load_tfds("imdb_reviews"))
