"""GPT2BPETokenizer: keras-hub's GPT-2 BPE with GPT-2's ids, as a tfllm Tokenizer."""

import json
import os

import keras_hub
import pytest
import tensorflow as tf

from tests.convert.gpt2_files import write_vocabulary
from tfllm.tokenizers import GPT2BPETokenizer, Tokenizer

TEXTS = ["def add(a, b):\n    return a + b\n\n\nclass C:\n\tpass\n", "):\n  return x",
         "It's 12345, they'll say héllo 世界 🙂 x", "x<|endoftext|>y", "a\r\n b", ""]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("gpt2_bpe"))
    write_vocabulary(directory)
    return os.path.join(directory, "vocab.json"), os.path.join(directory, "merges.txt")


@pytest.fixture(scope="module")
def tokenizer(files):
    return GPT2BPETokenizer.from_files(*files)


def test_encoding_equals_keras_hub_in_graph_and_hf_tokenizers(files, tokenizer):
    from tokenizers import ByteLevelBPETokenizer

    ids = tokenizer.encode(TEXTS)
    hf = ByteLevelBPETokenizer(*files)
    assert ids == [hf.encode(text).ids for text in TEXTS]
    reference = keras_hub.tokenizers.GPT2Tokenizer(vocabulary=files[0], merges=files[1],
                                                   unsplittable_tokens=[])
    in_graph = tf.data.Dataset.from_tensor_slices(TEXTS).map(reference)
    assert ids == [row.numpy().tolist() for row in in_graph]
    assert tokenizer.tf_encode(tf.constant(TEXTS)).to_list() == ids
    assert tokenizer.decode(ids) == TEXTS
    assert [s.decode() for s in tokenizer.tf_decode(tf.ragged.constant(ids)).numpy()] == TEXTS


def test_end_of_text_is_the_one_special_token(tokenizer):
    end = tokenizer.vocabulary_size - 1
    assert (tokenizer.eos_id, tokenizer.bos_id, tokenizer.pad_id) == (end, end, end)
    assert tokenizer.reserved_ids == [end] and tokenizer.control_token_ids == {}
    ids = tokenizer.encode("x y", add_bos=True, add_eos=True)
    assert ids[0] == ids[-1] == end and end not in tokenizer.encode(TEXTS[3])
    assert tokenizer.decode(ids) == "x y"
    assert tokenizer.decode(ids, skip_special_tokens=False) == "<|endoftext|>x y<|endoftext|>"
    assert tokenizer.tf_decode(tf.constant(ids)).numpy() == b"x y"
    pieces, text = tokenizer.token_bytes(), TEXTS[2]
    assert pieces[end] == b""
    assert b"".join(pieces[i] for i in tokenizer.encode(text)) == text.encode()
    characters = tokenizer.token_character_lengths()
    assert sum(characters[i] for i in tokenizer.encode(text)) == len(text)


def test_save_and_load_keep_the_files(files, tokenizer, tmp_path):
    tokenizer.save(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["merges.txt", "tokenizer.json", "vocab.json"]
    loaded = Tokenizer.load(str(tmp_path))
    assert type(loaded) is GPT2BPETokenizer and loaded.encode(TEXTS) == tokenizer.encode(TEXTS)
    with open(files[0], encoding="utf-8") as a, open(tmp_path / "vocab.json") as b:
        assert json.load(a) == json.load(b)
    with open(files[1], encoding="utf-8") as a, open(tmp_path / "merges.txt") as b:
        assert a.read().splitlines()[1:] == b.read().splitlines()[1:]


def test_control_tokens_are_refused_with_one_clear_line(files, tokenizer):
    with pytest.raises(ValueError, match=r"control tokens \('<\|good\|>',\): a pretrained "
                                         r"GPT-2 tokenizer cannot take new tokens"):
        GPT2BPETokenizer({"a": 0, "<|endoftext|>": 1}, [], control_tokens=("<|good|>",))
    with pytest.raises(ValueError, match=r"'<\|good\|>': a GPT-2 tokenizer has one special "
                                         r"token, <\|endoftext\|>, and no control tokens"):
        tokenizer.token_to_id("<|good|>")
    with pytest.raises(ValueError, match="it is not trained here"):
        Tokenizer.train(["text"], 300, kind="gpt2_bpe")


@pytest.mark.parametrize("vocabulary,merges,message", [
    ("{not json", "#version: 0.2\n", r"vocab.json: not valid JSON"),
    ('["a"]', "", r"vocab.json: expected a JSON object of token -> integer id"),
    ('{"a": 0, "b": 2, "<|endoftext|>": 3}', "", r"vocab.json: ids must be 0..2, each once"),
    ('{"a": 0, "b": 1}', "", r"vocab.json: no '<\|endoftext\|>' token"),
    ('{"a": 0, "b": 1, "<|endoftext|>": 2}', "#version: 0.2\na c\n",
     r"merges.txt:2: expected two vocabulary tokens separated by a space, got 'a c'"),
    ('{"a": 0, "b": 1, "<|endoftext|>": 2}', None, r"merges.txt: cannot read the merges"),
])
def test_bad_files_name_the_path(tmp_path, vocabulary, merges, message):
    (tmp_path / "vocab.json").write_text(vocabulary)
    if merges is not None:
        (tmp_path / "merges.txt").write_text(merges)
    with pytest.raises(ValueError, match=rf"^{tmp_path}/{message}"):
        GPT2BPETokenizer.from_files(str(tmp_path / "vocab.json"), str(tmp_path / "merges.txt"))
