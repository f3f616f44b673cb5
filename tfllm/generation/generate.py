"""`generate`: the public entry point; checks inputs and runs a cached XLA program.

One `tf.function(jit_compile=True)` is built per (model, sampler settings that
shape the program) and kept beside the model, so repeated calls with the same
prompt shape reuse the compiled program; temperature, top_p, seed, prompts,
lengths, preferences, logit_bias values and an ILQLModel's beta are runtime inputs and
never retrace.
"""

import secrets
import weakref

import numpy as np
import tensorflow as tf

from tfllm.generation.adapters import make_adapter
from tfllm.generation.beam_search import beam_search
from tfllm.generation.decoding import decode, setup
from tfllm.generation.sampling import banned_mask
from tfllm.models import ILQLModel

SAMPLERS = ("greedy", "top_k", "top_p", "beam")
DEFAULTS = dict(temperature=1.0, k=50, p=0.9, num_beams=4, length_penalty=0.0,
                stop_token_ids=(), banned_token_ids=(), seed=None, pad_token_id=0,
                start_token_id=1, preference=None, encoder_padding_mask=None,
                prompt_padding_mask=None, prompt_lengths=None, logit_bias=None,
                segment_control=None, ilql_beta=None)

_COMPILED = weakref.WeakKeyDictionary()


def _prompt_batch(prompt_token_ids, prompt_padding_mask, prompt_lengths, pad_token_id):
    """(int32 array (batch, width), lengths (batch,), was_list) from any accepted form."""
    if isinstance(prompt_token_ids, (list, tuple)) and prompt_token_ids and all(
            isinstance(row, (list, tuple, np.ndarray)) for row in prompt_token_ids):
        rows = [np.asarray(row) for row in prompt_token_ids]
        if any(row.ndim != 1 for row in rows):
            raise ValueError("prompt_token_ids must be a list of flat token lists")
        lengths = np.array([len(row) for row in rows], np.int32)
        ids = np.full((len(rows), max(lengths.max(), 1)), pad_token_id, np.int32)
        for i, row in enumerate(rows):
            ids[i, :len(row)] = row
        was_list = True
    else:
        ids = np.asarray(prompt_token_ids)
        if ids.ndim != 2:
            raise ValueError(f"prompt_token_ids must have rank 2 (batch, length) or be a list "
                             f"of lists, got shape {ids.shape}")
        lengths = np.full((ids.shape[0],), ids.shape[1], np.int32)
        was_list = False
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"prompt_token_ids must be integers, got dtype {ids.dtype}")
    ids = ids.astype(np.int32)
    if prompt_padding_mask is not None:
        mask = np.asarray(prompt_padding_mask).astype(bool)
        if mask.shape != ids.shape:
            raise ValueError(f"prompt_padding_mask has shape {mask.shape}, expected the "
                             f"prompt's shape {ids.shape}")
        lengths = mask.sum(axis=1).astype(np.int32)
        if not np.array_equal(mask, np.arange(ids.shape[1])[None] < lengths[:, None]):
            raise ValueError("prompt_padding_mask must mark a prefix of each row "
                             "(prompts left-aligned, padding on the right)")
    if prompt_lengths is not None:
        lengths = np.asarray(prompt_lengths, np.int32)
        if lengths.shape != (ids.shape[0],) or (lengths > ids.shape[1]).any():
            raise ValueError(f"prompt_lengths must have shape ({ids.shape[0]},) with values "
                             f"<= {ids.shape[1]}, got {lengths.tolist()}")
    if ids.shape[0] == 0 or (lengths < 1).any():
        raise ValueError(f"every prompt needs at least one token; lengths {lengths.tolist()}")
    return ids, lengths, was_list


def _check(model, ids, max_new_tokens, options, sampler):
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {SAMPLERS}")
    if not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a positive int, got {max_new_tokens!r}")
    vocabulary_size = model.vocabulary_size
    if (ids < 0).any() or (ids >= vocabulary_size).any():
        raise ValueError(f"prompt_token_ids must lie in [0, {vocabulary_size})")
    limit = model.max_sequence_length
    decoder_width = 1 if hasattr(model, "encode") else ids.shape[1]
    if hasattr(model, "encode") and ids.shape[1] > limit:
        raise ValueError(f"encoder prompt length {ids.shape[1]} exceeds max_sequence_length "
                         f"{limit}")
    if decoder_width + max_new_tokens > limit:
        raise ValueError(f"prompt length {decoder_width} + max_new_tokens {max_new_tokens} "
                         f"exceeds max_sequence_length {limit}")
    if sampler != "greedy" and sampler != "beam" and not options["temperature"] > 0:
        raise ValueError(f"temperature must be > 0, got {options['temperature']}")
    if sampler == "top_k" and not 1 <= int(options["k"]) <= vocabulary_size:
        raise ValueError(f"k must be in [1, {vocabulary_size}], got {options['k']}")
    if sampler == "top_p" and not 0 < float(options["p"]) <= 1:
        raise ValueError(f"p must be in (0, 1], got {options['p']}")
    if sampler == "beam" and int(options["num_beams"]) < 1:
        raise ValueError(f"num_beams must be >= 1, got {options['num_beams']}")
    if options["logit_bias"] is not None:
        bias = np.asarray(options["logit_bias"])
        if bias.shape != (vocabulary_size,) or not np.issubdtype(bias.dtype, np.number):
            raise ValueError(f"logit_bias must be a ({vocabulary_size},) float array, got "
                             f"shape {bias.shape} dtype {bias.dtype}")
        if np.isnan(bias).any() or (bias == np.inf).any():
            raise ValueError("logit_bias must not contain NaN or +inf")
    if options["segment_control"] is not None:
        if sampler == "beam":
            raise ValueError("segment_control works with greedy, top_k and top_p, not beam")
        segment_ends, control_id = options["segment_control"]
        ids_given = np.asarray(list(segment_ends) + [control_id], np.int64)
        if not len(segment_ends) or ((ids_given < 0) | (ids_given >= vocabulary_size)).any():
            raise ValueError(f"segment_control {options['segment_control']!r}: expected "
                             f"(non-empty segment-end token ids, control token id) in "
                             f"[0, {vocabulary_size})")
    if options["ilql_beta"] is not None:
        if not isinstance(model, ILQLModel):
            raise ValueError(f"ilql_beta is only for an ILQLModel, not {type(model).__name__}")
        if not np.isfinite(float(options["ilql_beta"])):
            raise ValueError(f"ilql_beta must be finite, got {options['ilql_beta']!r}")
    for name in ("stop_token_ids", "banned_token_ids", "pad_token_id", "start_token_id"):
        values = np.atleast_1d(np.asarray(options[name], np.int64))
        if ((values < 0) | (values >= vocabulary_size)).any():
            raise ValueError(f"{name} {options[name]} outside the vocabulary "
                             f"[0, {vocabulary_size})")


def _static_key(sampler, max_new_tokens, options):
    """The settings that change the compiled program."""
    return (sampler, int(max_new_tokens), int(options["k"]) if sampler == "top_k" else 0,
            sampler == "top_p", int(options["num_beams"]) if sampler == "beam" else 0,
            float(options["length_penalty"]) if sampler == "beam" else 0.0,
            tuple(sorted(int(t) for t in options["stop_token_ids"])),
            tuple(sorted(int(t) for t in options["banned_token_ids"])),
            int(options["pad_token_id"]), int(options["start_token_id"]),
            options["logit_bias"] is not None, _segment_key(options["segment_control"]))


def _segment_key(segment_control):
    if segment_control is None:
        return None
    ends, control_id = segment_control
    return tuple(sorted({int(t) for t in ends})), int(control_id)


def _build(model, key):
    """The compiled program for one static key: f(ids, lengths, runtime dict) -> ids."""
    (sampler, max_new_tokens, top_k, use_top_p, num_beams, length_penalty, stops, banned,
     pad, start, _, segments) = key
    ban = banned_mask(model.vocabulary_size, banned)
    segment_control = None
    if segments is not None:
        segment_control = (banned_mask(model.vocabulary_size, segments[0]), segments[1])

    @tf.function(jit_compile=True)
    def run(ids, lengths, runtime):
        if "ilql_beta" in runtime:  # an ILQLModel: its beta is a runtime input
            adapter, tokens, token_lengths = make_adapter(
                model, runtime.get("preference"), ilql_beta=runtime["ilql_beta"]), ids, lengths
        else:
            adapter, tokens, token_lengths = setup(
                model, ids, lengths, runtime.get("preference"),
                runtime.get("encoder_padding_mask"), start)
        if sampler == "beam":
            result = beam_search(adapter, tokens, token_lengths, max_new_tokens, num_beams,
                                 length_penalty, stops, ban, pad,
                                 logit_bias=runtime.get("logit_bias"))
        else:
            result = decode(adapter, tokens, token_lengths, max_new_tokens,
                            greedy=sampler == "greedy", temperature=runtime["temperature"],
                            top_k=top_k, top_p=runtime["p"] if use_top_p else 1.0,
                            seed=runtime["seed"], stop_token_ids=stops, ban=ban,
                            pad_token_id=pad, with_log_probs=False,
                            logit_bias=runtime.get("logit_bias"),
                            segment_control=segment_control)
        return result["token_ids"], result["lengths"]

    return run


def compiled_generate_fn(model, key):
    """The cached compiled program for `model` and static settings `key`."""
    per_model = _COMPILED.setdefault(model, {})
    if key not in per_model:
        per_model[key] = _build(model, key)
    return per_model[key]


def generate(model, prompt_token_ids, max_new_tokens, sampler="greedy", **sampler_options):
    """Generates token ids with a KV cache, the whole loop compiled with XLA.

    Args:
        model: a DecoderLM, an ILQLModel (decoded with its Q and V heads, see
            `adapters.ILQLAdapter`) or a Seq2SeqTransformer.
        prompt_token_ids: a list of token-id lists (any lengths), or an int
            array (batch, length) with optional `prompt_padding_mask` (True on
            the real tokens, a prefix of each row) or `prompt_lengths`. For a
            Seq2SeqTransformer this is the encoder input.
        max_new_tokens: tokens to generate after each row's prompt.
        sampler: "greedy", "top_k", "top_p" or "beam".
        **sampler_options:
            temperature (1.0; top_k/top_p), k (50; top_k), p (0.9; top_p),
            num_beams (4) and length_penalty (0.0, GNMT's alpha in
            score / ((5 + n) / 6) ** alpha; beam),
            stop_token_ids (a row ends after emitting one), banned_token_ids
            (never emitted), seed (int; same seed, same output), pad_token_id
            (0; fills rows after their end), preference ((batch, dim) for
            DecoderLM(preference_dim>0)), encoder_padding_mask and
            start_token_id (1 = the tokenizers' <bos>; Seq2Seq), logit_bias
            (a (vocabulary_size,) float array added to the logits before the
            ban, temperature and filtering, for every sampler; e.g.
            `preference.token_penalty_bias`; a runtime input, changing its
            values does not recompile), segment_control ((segment-end token ids,
            control token id): after a row emits a segment-end token, e.g. a line
            break, the control token follows, as in conditional training's data;
            not for beam), ilql_beta (an ILQLModel's advantage weight, default its
            `beta`; a runtime input; 0 decodes as its LM).

    Returns:
        DecoderLM: prompt + continuation; Seq2Seq: the generated target
        (without the start token). A list of lists (each row cut at its end)
        when the prompt was a list of lists, else an int32 numpy array
        (batch, width + max_new_tokens) padded with pad_token_id.

    Example:
        >>> model = DecoderLM.from_preset("tiny")
        >>> generate(model, [[1, 5, 9], [1, 7]], 4, sampler="top_k", k=5, seed=0)
    """
    unknown = set(sampler_options) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown sampler options {sorted(unknown)}; expected some of "
                         f"{sorted(DEFAULTS)}")
    options = {**DEFAULTS, **sampler_options}
    ids, lengths, was_list = _prompt_batch(prompt_token_ids, options["prompt_padding_mask"],
                                           options["prompt_lengths"], options["pad_token_id"])
    _check(model, ids, max_new_tokens, options, sampler)
    seed = options["seed"]
    seed = secrets.randbits(62) if seed is None else int(seed) % (1 << 62)
    runtime = {"temperature": tf.constant(float(options["temperature"])),
               "p": tf.constant(float(options["p"])),
               "seed": tf.constant([seed & 0x7FFFFFFF, seed >> 31], tf.int32)}
    for name in ("preference", "encoder_padding_mask"):
        if options[name] is not None:
            runtime[name] = tf.constant(np.asarray(options[name]))
    if options["logit_bias"] is not None:
        runtime["logit_bias"] = tf.constant(np.asarray(options["logit_bias"], np.float32))
    if isinstance(model, ILQLModel):
        beta = model.beta if options["ilql_beta"] is None else options["ilql_beta"]
        runtime["ilql_beta"] = tf.constant(float(beta))
    run = compiled_generate_fn(model, _static_key(sampler, max_new_tokens, options))
    tokens, ends = run(tf.constant(ids), tf.constant(lengths), runtime)
    tokens, ends = tokens.numpy(), ends.numpy()
    if hasattr(model, "encode"):
        tokens, ends = tokens[:, 1:], ends - 1
    if was_list:
        return [row[:end].tolist() for row, end in zip(tokens, ends)]
    return tokens
