import sys

import ml_collections
import pytest

from tfllm.bin import defaults
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


def test_tfds_without_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # import fails
    with pytest.raises(ValueError, match=r"needs tensorflow-datasets"):
        list(sources.load_tfds("imdb_reviews"))


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    """A TFDS dataset built here ("tiny_texts": train 5, test 2 texts), so no download."""
    import tensorflow_datasets as tfds

    class TinyTexts(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict(
                {"text": tfds.features.Text(), "label": tfds.features.ClassLabel(num_classes=2)}))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples("train", 5),
                    "test": self._generate_examples("test", 2)}

        def _generate_examples(self, split, n):
            for i in range(n):
                yield i, {"text": f"{split} document {i}\n", "label": i % 2}

    directory = str(tmp_path_factory.mktemp("tfds"))
    TinyTexts(data_dir=directory).download_and_prepare(
        download_config=tfds.download.DownloadConfig(verify_ssl=False))
    return directory


def test_tfds_texts_and_a_missing_field(tfds_dir):
    texts = sorted(sources.load_tfds("tiny_texts", "train", "text", tfds_dir))
    assert texts == [f"train document {i}\n" for i in range(5)]
    with pytest.raises(ValueError, match=r"TFDS 'tiny_texts': no field 'body'; fields are "
                                         r"\['label', 'text'\]"):
        list(sources.load_tfds("tiny_texts", "train", "body", tfds_dir))


def test_a_config_trains_on_a_tfds_corpus(tfds_dir):
    from tfllm import experiment
    from tfllm.experiment.corpus import corpus_texts
    from tfllm.tokenizers import Tokenizer

    config = ml_collections.ConfigDict({"data": {
        "corpus": "python_stdlib_code", "files": "", "sequence_length": 16, "shuffle_seed": 0,
        "tfds": defaults.tfds(name="tiny_texts", data_dir=tfds_dir)},
        "training": {"batch_size": 2}})
    assert sorted(corpus_texts(config, "validation")) == ["test document 0\n",
                                                         "test document 1\n"]
    byte = Tokenizer.train([], None, kind="byte")
    batch = next(iter(experiment.lm_dataset(config, byte, "train", repeat=False)))
    text = byte.decode(batch["token_ids"].numpy().reshape(-1).tolist())
    assert "train document" in text
    config.data.tfds.splits = {"train": "train"}
    with pytest.raises(ValueError, match="config.data.tfds.splits has no TFDS split for "
                                         "'test'"):
        corpus_texts(config, "test")
