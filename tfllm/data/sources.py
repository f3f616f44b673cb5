"""Reading user data records: JSONL and TSV files and TFDS splits, with errors that say
which file, line or byte offset was wrong. Files, globs and whole texts: `tfllm.files`."""

import json
import os

from tfllm.files import decode_utf8


def _lines(path, errors):
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    with open(path, "rb") as f:
        offset = 0
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8", errors=errors)
            except UnicodeDecodeError as e:
                raise ValueError(f"{path}:{number}: invalid UTF-8 at byte offset "
                                 f"{offset + e.start}; convert the file to UTF-8 (from "
                                 f"Python, errors='replace' substitutes U+FFFD)") from None
            offset += len(raw)
            yield number, line


def read_jsonl(path, fields, errors="strict", line_numbers=False):
    """Yields one dict per non-blank line of a JSONL file, checking required `fields`
    ((line number, dict) pairs if `line_numbers`).

    Raises:
        ValueError: "file:line: ..." for invalid JSON, a non-object line or a
            missing field.
    """
    for number, line in _lines(path, errors):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{number}: invalid JSON ({e.msg})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}:{number}: expected a JSON object, got "
                             f"{type(record).__name__}")
        for field in fields:
            if field not in record:
                raise ValueError(f"{path}:{number}: missing field {field!r}")
        yield (number, record) if line_numbers else record


def read_tsv(path, num_columns=2, min_columns=None, errors="strict", line_numbers=False):
    """Yields the first `num_columns` tab-separated columns of each non-blank line
    ((line number, columns) pairs if `line_numbers`).

    Tatoeba/Anki exports carry extra columns (ids, attribution); they are dropped.

    Args:
        num_columns: columns returned per line.
        min_columns: lines with fewer columns are an error (default `num_columns`).

    Raises:
        ValueError: "file:line: expected at least N tab-separated columns, got M".
    """
    min_columns = num_columns if min_columns is None else min_columns
    for number, line in _lines(path, errors):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        columns = line.split("\t")
        if len(columns) < min_columns:
            raise ValueError(f"{path}:{number}: expected at least {min_columns} "
                             f"tab-separated columns, got {len(columns)}")
        columns = tuple(columns[:num_columns])
        yield (number, columns) if line_numbers else columns


def load_tfds(name, split="train", text_key="text", data_dir=None):
    """Yields the `text_key` field (str) of a TensorFlow Datasets split (prepared under
    `data_dir`, default TFDS' own, or downloaded by TFDS where it can).

    Raises:
        ValueError: tensorflow-datasets is not installed, or the key is missing.
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise ValueError(f"TFDS dataset {name!r} needs tensorflow-datasets: install the "
                         f"optional extra `pip install tfllm[tfds]`") from None
    dataset = tfds.load(name, split=split, data_dir=data_dir or None)
    if text_key not in dataset.element_spec:
        raise ValueError(f"TFDS {name!r}: no field {text_key!r}; fields are "
                         f"{sorted(dataset.element_spec)}")
    for example in dataset.as_numpy_iterator():
        yield decode_utf8(example[text_key], f"tfds:{name}", "replace")
