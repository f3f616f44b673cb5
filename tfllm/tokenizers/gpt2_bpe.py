"""GPT-2's byte-level BPE (vocab.json + merges.txt) through keras-hub's GPT2Tokenizer.

Ids are GPT-2's own (a pretrained model's embedding rows): "<|endoftext|>" is the one
special token and serves as <pad>, <bos>, <eos> and <unk>, as in Hugging Face's GPT-2.
Text is split and merged by keras-hub's TensorFlow path (the one tf.data and a
SavedModel run; its eager path splits whitespace before a word differently), in
Python and in-graph alike; a literal "<|endoftext|>" in text is encoded as characters.
This equals GPT-2's own encoder but for two or more whitespace characters ending a
text, which keras-hub splits before the last one (GPT-2 keeps them one word).
Control tokens are refused: the pretrained embedding has no rows for them.
"""

import json
import os

import tensorflow as tf

from tfllm import files
from tfllm.tokenizers import base

VOCAB_FILE = "vocab.json"
MERGES_FILE = "merges.txt"
END_OF_TEXT = "<|endoftext|>"
MERGES_HEADER = "#version: 0.2"


def byte_to_unicode():
    """GPT-2's map from each byte to the printable character vocab.json spells it with."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def read_vocabulary(path):
    """{token: id} of a vocab.json, checked: ids 0..n-1, "<|endoftext|>" among them."""
    try:
        with open(path, encoding="utf-8") as f:
            vocabulary = json.load(f)
    except OSError as error:
        raise ValueError(f"{path}: cannot read the vocabulary: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not valid JSON: {error}") from None
    if not isinstance(vocabulary, dict) or not all(
            isinstance(t, str) and type(i) is int for t, i in vocabulary.items()):
        raise ValueError(f"{path}: expected a JSON object of token -> integer id")
    if sorted(vocabulary.values()) != list(range(len(vocabulary))):
        raise ValueError(f"{path}: ids must be 0..{len(vocabulary) - 1}, each once")
    if END_OF_TEXT not in vocabulary:
        raise ValueError(f"{path}: no {END_OF_TEXT!r} token")
    return vocabulary


def read_merges(path, vocabulary):
    """The merge rules ("a b" lines) of a merges.txt, each of two vocabulary tokens."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as error:
        raise ValueError(f"{path}: cannot read the merges: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text: {error}") from None
    merges = []
    for number, line in enumerate(lines, 1):
        if line.startswith("#version") or not line:
            continue
        parts = line.split(" ")
        if len(parts) != 2 or not all(p in vocabulary for p in parts):
            raise ValueError(f"{path}:{number}: expected two vocabulary tokens separated "
                             f"by a space, got {line!r}")
        merges.append(line)
    return merges


class GPT2BPETokenizer(base.Tokenizer):
    """GPT-2's byte-level BPE with GPT-2's ids (see the module docstring).

    Args:
        vocabulary: {token: id} as in vocab.json.
        merges: the merge rules, "a b" strings in priority order.
        control_tokens: must be empty.

    Example:
        tok = GPT2BPETokenizer.from_files("gpt2/vocab.json", "gpt2/merges.txt")
        tok.encode("Hello world")  # [15496, 995] with GPT-2's files
    """

    kind = "gpt2_bpe"

    def __init__(self, vocabulary, merges, control_tokens=()):
        if control_tokens:
            raise ValueError(f"control tokens {tuple(control_tokens)}: a pretrained GPT-2 "
                             f"tokenizer cannot take new tokens (its embedding has no rows "
                             f"for them)")
        super().__init__()
        import keras_hub

        self._vocabulary = dict(vocabulary)
        self._merges = list(merges)
        self._end_id = self._vocabulary[END_OF_TEXT]
        self._tokens = sorted(self._vocabulary, key=self._vocabulary.get)
        self._keras_hub = keras_hub.tokenizers.GPT2Tokenizer(
            vocabulary=dict(vocabulary), merges=list(merges), unsplittable_tokens=[])
        chars = {c: b for b, c in byte_to_unicode().items()}
        pieces = [b""] * len(self._vocabulary)
        for token, i in self._vocabulary.items():
            if i != self._end_id:
                pieces[i] = bytes(chars[c] for c in token) if all(
                    c in chars for c in token) else token.encode("utf-8")
        self._pieces = pieces
        self._tf_pieces = tf.constant(pieces)
        self._encode_fn = tf.function(self._tokenize, reduce_retracing=True)

    @classmethod
    def from_files(cls, vocabulary_path, merges_path):
        """The tokenizer of a vocab.json and a merges.txt (ValueError naming a bad file)."""
        vocabulary = read_vocabulary(vocabulary_path)
        return cls(vocabulary, read_merges(merges_path, vocabulary))

    @classmethod
    def train_from(cls, texts_or_files, vocabulary_size, control_tokens, **options):
        raise ValueError("a gpt2_bpe tokenizer comes with a pretrained GPT-2 (tfllm-import "
                         "--from=hf_gpt2 --workdir=DIR); it is not trained here")

    @classmethod
    def load_from(cls, path, config):
        return cls.from_files(os.path.join(path, VOCAB_FILE), os.path.join(path, MERGES_FILE))

    def save_vocabulary(self, path):
        """Writes vocab.json and merges.txt (Hugging Face's files) into directory `path`."""
        files.write_atomically(os.path.join(path, VOCAB_FILE),
                               json.dumps(dict(self._vocabulary), ensure_ascii=False))
        files.write_atomically(os.path.join(path, MERGES_FILE),
                               "\n".join([MERGES_HEADER, *self._merges]) + "\n")

    def _save_assets(self, path):
        self.save_vocabulary(path)

    @property
    def vocabulary_size(self):
        return len(self._vocabulary)

    @property
    def pad_id(self):
        return self._end_id

    @property
    def bos_id(self):
        return self._end_id

    @property
    def eos_id(self):
        return self._end_id

    @property
    def unk_id(self):
        return self._end_id

    @property
    def sep_id(self):
        return self._end_id

    @property
    def special_token_ids(self):
        return {END_OF_TEXT: self._end_id}

    @property
    def num_reserved_ids(self):
        return 1

    def token_to_id(self, name):
        if name != END_OF_TEXT:
            raise ValueError(f"{name!r}: a GPT-2 tokenizer has one special token, "
                             f"{END_OF_TEXT}, and no control tokens (its pretrained "
                             f"embedding has no rows for new ones)")
        return self._end_id

    def id_to_token(self, token_id):
        return self._tokens[token_id]

    def token_bytes(self):
        return list(self._pieces)

    def _tokenize(self, strings):
        return tf.cast(self._keras_hub.tokenize(strings), tf.int32)

    def _encode_batch(self, strings):
        if not strings:
            return []
        return self._encode_fn(tf.constant(strings, tf.string)).to_list()

    def _decode_plain(self, ids):
        return b"".join(self._pieces[i] for i in ids).decode("utf-8", errors="replace")

    def _tf_is_ordinary(self, ids):
        return tf.not_equal(ids, self._end_id)

    def _tf_encode_batch(self, strings):
        return self._encode_fn(strings)

    def _tf_decode_batch(self, ids):
        return tf.strings.reduce_join(tf.gather(self._tf_pieces, ids), axis=-1)
