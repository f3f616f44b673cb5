import importlib.util

import pytest

from tfllm.data import sources


def test_non_utf8_reports_file_line_and_offset(tmp_path):
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
