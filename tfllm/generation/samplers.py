"""Sampler objects for `generate`, named and shaped as keras_hub.samplers.

A sampler holds the settings of one decoding method and runs tfllm's loops over a
model adapter (`decoding.decode`, `beam_search.beam_search`). `static_key` names the
settings that shape the compiled program; `runtime` gives the others as tensors, so
changing them (temperature, p, seed) reuses the program. Defaults are generate's
(k=50, p=0.9, num_beams=4), so a name and its Sampler decode alike; BeamSampler has
no temperature or return_all_beams.

    generate(model, prompts, 16, sampler=TopKSampler(k=5, seed=0))
    get("top_p"), get(serialize(sampler))
"""

import math
import secrets

import tensorflow as tf

from tfllm.generation.beam_search import beam_search
from tfllm.generation.decoding import decode


def _checked(sampler, name, value, convert, valid, expected):
    """`convert(value)`, or ValueError "Class: name must be expected, got value"."""
    try:
        converted = convert(value)
        ok = not isinstance(value, bool) and converted == value and valid(converted)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{type(sampler).__name__}: {name} must be {expected}, got {value!r}")
    return converted


def _count(sampler, name, value):
    return _checked(sampler, name, value, int, lambda v: v >= 1, "an int >= 1")


class Sampler:
    """Base class: one decoding method's settings (`get_config`) and how to run it."""

    name = None

    def get_config(self):
        """The constructor arguments."""
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({settings})"

    def static_key(self):
        """The settings that shape the compiled program (hashable)."""
        return (self.name,)

    def runtime(self):
        """The other settings, as tensors (a fresh seed per call when `seed` is None)."""
        return {}

    def check(self, vocabulary_size):
        """ValueError for settings that do not fit the model's vocabulary."""

    def run(self, adapter, token_ids, lengths, max_new_tokens, runtime, stop_token_ids=(),
            ban=None, pad_token_id=0, logit_bias=None, segment_control=None):
        """dict(token_ids, lengths) for one batch, traced inside generate's program.

        Reads only the `static_key` settings from `self`, the others from `runtime`;
        the loop arguments are `decoding.decode`'s.
        """
        return decode(adapter, token_ids, lengths, max_new_tokens,
                      stop_token_ids=stop_token_ids, ban=ban, pad_token_id=pad_token_id,
                      with_log_probs=False, logit_bias=logit_bias,
                      segment_control=segment_control, **self._choice(runtime))

    def _choice(self, runtime):
        """`decoding.decode`'s token-choice arguments."""
        raise NotImplementedError


class GreedySampler(Sampler):
    """The most likely token at every step."""

    name = "greedy"

    def _choice(self, runtime):
        return {"greedy": True}


class RandomSampler(Sampler):
    """A sample from softmax(logits / temperature); the same seed gives the same tokens."""

    name = "random"
    k = None  # no top-k cut
    p = None  # no top-p cut

    def __init__(self, seed=None, temperature=1.0):
        self.seed = seed if seed is None else _checked(self, "seed", seed, int, lambda v: True,
                                                        "an int or None")
        self.temperature = _checked(self, "temperature", temperature, float, lambda v: v > 0,
                                    "> 0")

    def get_config(self):
        return {"seed": self.seed, "temperature": self.temperature}

    def static_key(self):
        return (self.name, self.k, self.p is not None)

    def runtime(self):
        seed = secrets.randbits(62) if self.seed is None else self.seed % (1 << 62)
        values = {"temperature": tf.constant(self.temperature),
                  "seed": tf.constant([seed & 0x7FFFFFFF, seed >> 31], tf.int32)}
        if self.p is not None:
            values["p"] = tf.constant(self.p)
        return values

    def check(self, vocabulary_size):
        if self.k is not None and self.k > vocabulary_size:
            raise ValueError(f"{type(self).__name__}: k must be in [1, {vocabulary_size}], "
                             f"got {self.k}")

    def _choice(self, runtime):
        return {"greedy": False, "temperature": runtime["temperature"], "top_k": self.k or 0,
                "top_p": runtime.get("p", 1.0), "seed": runtime["seed"]}


class TopKSampler(RandomSampler):
    """A sample among the `k` most likely tokens (after temperature)."""

    name = "top_k"

    def __init__(self, k=50, seed=None, temperature=1.0):
        super().__init__(seed, temperature)
        self.k = _count(self, "k", k)

    def get_config(self):
        return {"k": self.k, **super().get_config()}


class TopPSampler(RandomSampler):
    """A sample from the smallest set of most likely tokens whose probability reaches
    `p` (nucleus sampling), among the `k` most likely if `k` is set."""

    name = "top_p"

    def __init__(self, p=0.9, k=None, seed=None, temperature=1.0):
        super().__init__(seed, temperature)
        self.p = _checked(self, "p", p, float, lambda v: 0 < v <= 1, "in (0, 1]")
        self.k = k if k is None else _count(self, "k", k)

    def get_config(self):
        return {"p": self.p, "k": self.k, **super().get_config()}


class BeamSampler(Sampler):
    """Beam search keeping `num_beams` hypotheses; returns the best. `length_penalty`
    is GNMT's alpha in score / ((5 + n) / 6) ** alpha (0: total log-probability)."""

    name = "beam"

    def __init__(self, num_beams=4, length_penalty=0.0):
        self.num_beams = _count(self, "num_beams", num_beams)
        self.length_penalty = _checked(self, "length_penalty", length_penalty, float,
                                       math.isfinite, "a finite number")

    def get_config(self):
        return {"num_beams": self.num_beams, "length_penalty": self.length_penalty}

    def static_key(self):
        return (self.name, self.num_beams, self.length_penalty)

    def run(self, adapter, token_ids, lengths, max_new_tokens, runtime, stop_token_ids=(),
            ban=None, pad_token_id=0, logit_bias=None):
        return beam_search(adapter, token_ids, lengths, max_new_tokens, self.num_beams,
                           self.length_penalty, stop_token_ids, ban, pad_token_id,
                           logit_bias=logit_bias)


SAMPLER_CLASSES = {cls.name: cls for cls in (GreedySampler, RandomSampler, TopKSampler,
                                              TopPSampler, BeamSampler)}
SAMPLERS = tuple(SAMPLER_CLASSES)


def serialize(sampler):
    """{"class_name": ..., "config": sampler.get_config()}, readable by `get`."""
    return {"class_name": type(sampler).__name__, "config": sampler.get_config()}


def get(identifier):
    """A Sampler from a Sampler (returned as is), a name in SAMPLERS (default settings)
    or a `serialize` dict."""
    if isinstance(identifier, Sampler):
        return identifier
    if isinstance(identifier, str) and identifier in SAMPLER_CLASSES:
        return SAMPLER_CLASSES[identifier]()
    by_class_name = {cls.__name__: cls for cls in SAMPLER_CLASSES.values()}
    if isinstance(identifier, dict) and identifier.get("class_name") in by_class_name:
        return by_class_name[identifier["class_name"]].from_config(identifier.get("config", {}))
    raise ValueError(f"unknown sampler {identifier!r}; expected a Sampler, one of {SAMPLERS} "
                     f"or a dict(class_name=one of {sorted(by_class_name)}, config=...)")
