"""The tokenizer interface shared by every kind: ids layout, special tokens, save/load.

Id layout, the same for every kind:

    0 <pad>, 1 <bos>, 2 <eos>, 3 <unk>, 4 <sep>,
    5 .. 5+k-1   the k user control tokens (e.g. `<|good|>`, `<|bad|>`), in order,
    5+k ..       the vocabulary proper (bytes, sentencepiece pieces or wordpieces).

Ids below `num_reserved_ids` are atomic: ordinary text never encodes to them (text
that contains the literal string "<|good|>" is encoded as ordinary characters), so
they can be banned at generation time. A pretrained vocabulary keeps its own ids
(kind "gpt2_bpe": "<|endoftext|>" is GPT-2's last id); `reserved_ids` lists the atomic
ids of any kind.
"""

import json
import os

import numpy as np
import tensorflow as tf

from tfllm import files

SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>", "<unk>", "<sep>")
CONFIG_FILE = "tokenizer.json"
FORMAT_VERSION = 1


def training_texts(texts_or_files):
    """Yields texts from a list of texts (str) and/or files (`os.PathLike`, e.g.
    pathlib.Path), or from one path or glob (a single str or PathLike argument).

    A str element is always a text, even one that names a file ("/bin/ls" is a prompt,
    not that file); pass pathlib.Path objects to read files (ValueError if missing).
    """
    if isinstance(texts_or_files, (str, os.PathLike)):
        yield from files.read_texts(texts_or_files)
        return
    for item in texts_or_files:
        if isinstance(item, os.PathLike):
            yield files.read_text(os.fspath(item))
        elif isinstance(item, str):
            yield item
        else:
            raise ValueError(f"training input {type(item).__name__} is neither a text "
                             f"nor a file path")


def check_control_tokens(control_tokens):
    """Returns `control_tokens` as a tuple of str; ValueError on duplicates or clashes."""
    tokens = tuple(control_tokens)
    for token in tokens:
        if not isinstance(token, str) or not token:
            raise ValueError(f"control token {token!r} must be a non-empty str")
        if token in SPECIAL_TOKENS:
            raise ValueError(f"control token {token!r} clashes with a special token")
        if any(c.isspace() for c in token):
            raise ValueError(f"control token {token!r} must not contain whitespace")
    if len(set(tokens)) != len(tokens):
        raise ValueError(f"control tokens {tokens} contain duplicates")
    return tokens


class Tokenizer(tf.Module):
    """A trained tokenizer with atomic special/control tokens and in-graph encode/decode.

    Build one with `Tokenizer.train(...)`, `Tokenizer.load(directory)` or
    `Tokenizer.from_preset(name)` (a trained preset's).

    Args:
        control_tokens: user control tokens, e.g. ("<|good|>", "<|bad|>").

    Example:
        tok = Tokenizer.train(["def f(x):\\n    return x\\n"], None, kind="byte",
                              control_tokens=("<|good|>", "<|bad|>"))
        ids = tok.encode("hello")        # list[int]
        tok.decode(ids) == "hello"
        tok.tf_encode(tf.constant(["a", "bc"]))  # tf.RaggedTensor int32
    """

    kind = None

    def __init__(self, control_tokens=()):
        super().__init__(name=f"{self.kind}_tokenizer")
        self._control_tokens = check_control_tokens(control_tokens)
        self._chat_template = ()  # (role, text) pairs; tf.Module would wrap a dict

    # ----------------------------------------------------------------- training
    @staticmethod
    def train(texts_or_files, vocabulary_size, kind="sentencepiece", control_tokens=(),
              **options):
        """Trains a tokenizer of `kind` on texts (iterable of str) or file paths.

        Args:
            texts_or_files: a list of texts (str) and/or paths to UTF-8 text files
                (pathlib.Path; a str element is always a text), or one path or glob.
            vocabulary_size: total number of ids including special and control tokens
                (ignored by kind="byte" unless smaller than its fixed size).
            kind: "sentencepiece" (options: model_type="unigram"|"bpe", any
                sentencepiece trainer option), "wordpiece" (for classifiers and
                encoders: lossy on whitespace) or "byte".
            control_tokens: atomic user tokens such as "<|good|>".

        Raises:
            ValueError: unknown kind, or a vocabulary size the corpus cannot support.
        """
        from tfllm.tokenizers import registry

        if kind not in registry.KINDS:
            raise ValueError(f"unknown tokenizer kind {kind!r}; expected one of "
                             f"{sorted(registry.KINDS)}")
        return registry.KINDS[kind].train_from(
            texts_or_files, vocabulary_size, check_control_tokens(control_tokens),
            **options)

    @staticmethod
    def load(path):
        """Loads a tokenizer saved with `save(path)`."""
        from tfllm.tokenizers import registry

        config_path = os.path.join(path, CONFIG_FILE)
        if not os.path.isfile(config_path):
            raise ValueError(f"{config_path}: no tokenizer config (missing file)")
        with open(config_path, encoding="utf-8") as f:
            config = json.load(f)
        kind = config.get("kind")
        if kind not in registry.KINDS:
            raise ValueError(f"{config_path}: unknown tokenizer kind {kind!r}")
        if config.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{config_path}: format_version "
                             f"{config.get('format_version')!r}, expected {FORMAT_VERSION}")
        tokenizer = registry.KINDS[kind].load_from(path, config)
        tokenizer.chat_template = config.get("chat_template")
        return tokenizer

    @staticmethod
    def from_preset(name):
        """The tokenizer of trained preset `name` (`tfllm.models.presets`), the one of
        `DecoderLM.from_preset(name)`."""
        from tfllm.models.presets import trained_preset_dir

        return Tokenizer.load(os.path.join(trained_preset_dir(name), "tokenizer"))

    def save(self, path):
        """Saves into directory `path` (created; files written atomically)."""
        os.makedirs(path, exist_ok=True)
        self._save_assets(path)
        config = {"format_version": FORMAT_VERSION, "kind": self.kind,
                  "control_tokens": list(self._control_tokens),
                  "vocabulary_size": self.vocabulary_size}
        if self.chat_template:
            config["chat_template"] = self.chat_template
        files.write_atomically(os.path.join(path, CONFIG_FILE), json.dumps(config, indent=2))

    def _save_assets(self, path):
        """Writes the kind-specific files into directory `path`."""

    # ------------------------------------------------------------- properties
    @property
    def chat_template(self):
        """The role templates of chat data and the chat REPL ({"system", "user",
        "assistant"} -> text with one "{content}"; tfllm.data.prompts), or None."""
        return dict(self._chat_template) or None

    @chat_template.setter
    def chat_template(self, template):
        self._chat_template = tuple(sorted((template or {}).items()))

    @property
    def vocabulary_size(self):
        raise NotImplementedError

    @property
    def pad_id(self):
        return 0

    @property
    def bos_id(self):
        return 1

    @property
    def eos_id(self):
        return 2

    @property
    def unk_id(self):
        return 3

    @property
    def sep_id(self):
        return 4

    @property
    def control_tokens(self):
        return tuple(self._control_tokens)

    @property
    def control_token_ids(self):
        """dict: control token -> id."""
        start = len(SPECIAL_TOKENS)
        return {t: start + i for i, t in enumerate(self._control_tokens)}

    @property
    def special_token_ids(self):
        """dict: every atomic token (special and control) -> id."""
        ids = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
        ids.update(self.control_token_ids)
        return ids

    @property
    def num_reserved_ids(self):
        """How many ids the special and control tokens take: [0, num_reserved_ids) in
        tfllm's layout."""
        return len(SPECIAL_TOKENS) + len(self._control_tokens)

    @property
    def reserved_ids(self):
        """The sorted ids of the special and control tokens (a pretrained vocabulary may
        keep them elsewhere than at the front)."""
        return sorted(set(self.special_token_ids.values()))

    def token_to_id(self, name):
        """The id of a special or control token, e.g. "<eos>" or "<|good|>"."""
        ids = self.special_token_ids
        if name not in ids:
            raise ValueError(f"{name!r} is not a special or control token; known: "
                             f"{sorted(ids)}")
        return ids[name]

    def id_to_token(self, token_id):
        """The string of one id (special names for reserved ids)."""
        raise NotImplementedError

    def token_bytes(self):
        """The UTF-8 bytes of text each id stands for (b"" for special and control tokens),
        a list of `vocabulary_size`; None where decoding does not give the text back
        (wordpiece drops whitespace)."""
        return None

    def token_byte_lengths(self):
        """`len` of each id's `token_bytes`: an int64 array of `vocabulary_size`, the
        denominator of bits per byte (None without `token_bytes`)."""
        pieces = self.token_bytes()
        return None if pieces is None else np.array([len(p) for p in pieces], np.int64)

    def token_character_lengths(self):
        """The characters (Unicode code points) starting in each id's `token_bytes`, i.e.
        its bytes that are not UTF-8 continuation bytes: summed over a text's ids, the
        text's characters; the denominator of bits per character (None without
        `token_bytes`)."""
        pieces = self.token_bytes()
        return None if pieces is None else np.array(
            [sum((b & 0xC0) != 0x80 for b in p) for p in pieces], np.int64)

    # ----------------------------------------------------------- Python API
    def check_model(self, model, where="model"):
        """ValueError unless `model` (anything with `vocabulary_size`) has one embedding
        row per id of this tokenizer: a tokenizer from another run is an error, not text
        from the wrong ids."""
        size = getattr(model, "vocabulary_size", None)
        if size is not None and size != self.vocabulary_size:
            raise ValueError(f"{where}: the model has {size} token ids but its tokenizer "
                             f"{self.vocabulary_size}: a tokenizer from another run?")

    def encode(self, strings, add_bos=False, add_eos=False):
        """Encodes a str to list[int], or a list of str to list[list[int]]."""
        single = isinstance(strings, str)
        batch = [strings] if single else list(strings)
        for i, s in enumerate(batch):
            if not isinstance(s, str):
                raise ValueError(f"encode: element {i} is {type(s).__name__}, expected str")
        out = self._encode_batch(batch)
        if add_bos:
            out = [[self.bos_id] + ids for ids in out]
        if add_eos:
            out = [ids + [self.eos_id] for ids in out]
        return out[0] if single else out

    def decode(self, ids, skip_special_tokens=True):
        """Decodes list[int] to str, or list[list[int]] (or a 2-D array) to list[str].

        Reserved ids are dropped (`skip_special_tokens=True`) or written as their
        names, e.g. "<|good|>".
        """
        if isinstance(ids, (tf.Tensor, tf.RaggedTensor)):
            ids = ids.to_list() if isinstance(ids, tf.RaggedTensor) else ids.numpy()
        if isinstance(ids, np.ndarray):
            ids = ids.tolist()
        ids = list(ids)
        single = not ids or not isinstance(ids[0], (list, tuple, np.ndarray))
        batch = [ids] if single else [list(x) for x in ids]
        out = [self._decode_with_specials(x, skip_special_tokens) for x in batch]
        return out[0] if single else out

    def _decode_with_specials(self, ids, skip_special_tokens):
        size = self.vocabulary_size
        names = {i: name for name, i in reversed(self.special_token_ids.items())}
        parts, run = [], []
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
                raise ValueError(f"decode: ids must be integers, got {i!r}")
            i = int(i)
            if not 0 <= i < size:
                raise ValueError(f"decode: id {i} out of range [0, {size})")
            if i in names:
                if run:
                    parts.append(self._decode_plain(run))
                    run = []
                if not skip_special_tokens:
                    parts.append(names[i])
            else:
                run.append(i)
        if run:
            parts.append(self._decode_plain(run))
        return "".join(parts)

    def _encode_batch(self, strings):
        raise NotImplementedError

    def _decode_plain(self, ids):
        """Decodes ids that are all >= num_reserved_ids."""
        raise NotImplementedError

    # --------------------------------------------------------- in-graph API
    def tf_encode(self, strings):
        """Encodes a string tensor (scalar or 1-D) in-graph to int32 ids (ragged if 1-D)."""
        strings = tf.convert_to_tensor(strings, dtype=tf.string)
        if strings.shape.rank == 0:
            return self._tf_encode_batch(strings[tf.newaxis])[0]
        return self._tf_encode_batch(strings)

    def tf_decode(self, ids):
        """Decodes int ids in-graph (1-D, 2-D dense or ragged) to strings, dropping
        reserved ids (special and control tokens)."""
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids)
            if ids.shape.rank == 1:
                return self.tf_decode(tf.RaggedTensor.from_tensor(ids[tf.newaxis]))[0]
            ids = tf.RaggedTensor.from_tensor(ids)
        ids = tf.cast(ids, tf.int32)
        ids = tf.ragged.boolean_mask(ids, self._tf_is_ordinary(ids))
        return self._tf_decode_batch(ids)

    def _tf_is_ordinary(self, ids):
        """True on the ids that are not special or control tokens."""
        return ids >= self.num_reserved_ids

    def _tf_encode_batch(self, strings):
        raise NotImplementedError

    def _tf_decode_batch(self, ids):
        raise NotImplementedError

    def __repr__(self):
        return (f"{type(self).__name__}(kind={self.kind!r}, vocabulary_size="
                f"{self.vocabulary_size}, control_tokens={self.control_tokens})")
