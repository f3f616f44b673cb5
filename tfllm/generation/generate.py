"""`generate`: the public entry point; checks inputs and runs a cached XLA program.

One `tf.function(jit_compile=True)` is built per (model, settings that shape the
program: the sampler's `static_key`, max_new_tokens, stop/ban/pad/start ids) and kept
beside the model, so repeated calls with the same prompt shape reuse the compiled
program; the sampler's temperature, p and seed, prompts, lengths, preferences,
logit_bias values and an ILQLModel's beta are runtime inputs and never retrace.
"""

import copy
import weakref

import numpy as np
import tensorflow as tf

from tfllm.generation.decoding import is_seq2seq, setup
from tfllm.generation.samplers import SAMPLER_CLASSES, BeamSampler, RandomSampler, get
from tfllm.generation.sampling import banned_mask
from tfllm.models import ILQLModel

# generate's keyword form: the settings each sampler name reads (others are ignored).
SAMPLER_KEYWORDS = {"greedy": (), "random": ("seed", "temperature"),
                    "top_k": ("k", "seed", "temperature"),
                    "top_p": ("p", "seed", "temperature"),
                    "beam": ("num_beams", "length_penalty")}

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


def _sampler(sampler, keywords):
    """The Sampler for generate's `sampler` argument and sampler keywords."""
    known = sorted({name for names in SAMPLER_KEYWORDS.values() for name in names})
    unknown = set(keywords) - set(known)
    if unknown:
        raise ValueError(f"unknown sampler options {sorted(unknown)}; expected some of {known}")
    if isinstance(sampler, str) and sampler in SAMPLER_CLASSES:
        return SAMPLER_CLASSES[sampler](**{name: value for name, value in keywords.items()
                                           if name in SAMPLER_KEYWORDS[sampler]})
    sampler = get(sampler)
    if keywords:
        raise ValueError(f"sampler settings {sorted(keywords)} given beside {sampler!r}: "
                         "set them on the Sampler (or pass a sampler name)")
    return sampler


def _check(model, sampler, ids, max_new_tokens, token_ids, logit_bias, segment_control,
           ilql_beta):
    """ValueError for a prompt, sampler, token ids or preference options that do not fit
    `model` or each other."""
    if not isinstance(max_new_tokens, (int, np.integer)) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a positive int, got {max_new_tokens!r}")
    vocabulary_size = model.vocabulary_size
    if (ids < 0).any() or (ids >= vocabulary_size).any():
        raise ValueError(f"prompt_token_ids must lie in [0, {vocabulary_size})")
    limit = model.max_sequence_length
    decoder_width = 1 if is_seq2seq(model) else ids.shape[1]
    if is_seq2seq(model) and ids.shape[1] > limit:
        raise ValueError(f"encoder prompt length {ids.shape[1]} exceeds max_sequence_length "
                         f"{limit}")
    if decoder_width + max_new_tokens > limit:
        raise ValueError(f"prompt length {decoder_width} + max_new_tokens {max_new_tokens} "
                         f"exceeds max_sequence_length {limit}")
    for name, value in token_ids.items():
        values = np.atleast_1d(np.asarray(value, np.int64))
        if ((values < 0) | (values >= vocabulary_size)).any():
            raise ValueError(f"{name} {value} outside the vocabulary [0, {vocabulary_size})")
    if logit_bias is not None:
        bias = np.asarray(logit_bias)
        if bias.shape != (vocabulary_size,) or not np.issubdtype(bias.dtype, np.number):
            raise ValueError(f"logit_bias must be a ({vocabulary_size},) float array, got "
                             f"shape {bias.shape} dtype {bias.dtype}")
        if np.isnan(bias).any() or (bias == np.inf).any():
            raise ValueError("logit_bias must not contain NaN or +inf")
    sampler.check(vocabulary_size)
    if segment_control is not None:
        if isinstance(sampler, BeamSampler):
            raise ValueError("segment_control works with greedy and sampling, not beam")
        segment_ends, control_id = segment_control
        ids_given = np.asarray(list(segment_ends) + [control_id], np.int64)
        if not len(segment_ends) or ((ids_given < 0) | (ids_given >= vocabulary_size)).any():
            raise ValueError(f"segment_control {segment_control!r}: expected (non-empty "
                             f"segment-end token ids, control token id) in "
                             f"[0, {vocabulary_size})")
    if ilql_beta is not None:
        if not isinstance(model, ILQLModel):
            raise ValueError(f"ilql_beta is only for an ILQLModel, not {type(model).__name__}")
        if not np.isfinite(float(ilql_beta)):
            raise ValueError(f"ilql_beta must be finite, got {ilql_beta!r}")


def _ids_key(token_ids):
    return tuple(sorted({int(t) for t in token_ids}))


def _static_key(sampler, max_new_tokens, stop_token_ids, banned_token_ids, pad_token_id,
                start_token_id, logit_bias, segment_control):
    """The settings that change the compiled program."""
    segments = None
    if segment_control is not None:
        segments = _ids_key(segment_control[0]), int(segment_control[1])
    return (sampler.static_key(), int(max_new_tokens), _ids_key(stop_token_ids),
            _ids_key(banned_token_ids), int(pad_token_id), int(start_token_id),
            logit_bias is not None, segments)


def _build(model, sampler, key):
    """The compiled program for one static key: f(ids, lengths, runtime dict) -> ids."""
    _, max_new_tokens, stops, banned, pad, start, _, segments = key
    ban = banned_mask(model.vocabulary_size, banned)
    segments_option = {}  # BeamSampler.run takes no segment_control
    if segments is not None:
        segments_option["segment_control"] = (banned_mask(model.vocabulary_size, segments[0]),
                                              segments[1])

    @tf.function(jit_compile=True)
    def run(ids, lengths, runtime):
        adapter, tokens, token_lengths = setup(
            model, ids, lengths, runtime.get("preference"), runtime.get("encoder_padding_mask"),
            start, runtime.get("ilql_beta"))
        result = sampler.run(adapter, tokens, token_lengths, max_new_tokens, runtime, stops,
                             ban, pad, logit_bias=runtime.get("logit_bias"), **segments_option)
        return result["token_ids"], result["lengths"]

    return run


def compiled_generate_fn(model, sampler, key):
    """The cached compiled program for `model`, `sampler` and static settings `key`."""
    per_model = _COMPILED.setdefault(model, {})
    if key not in per_model:
        # A copy: the program keeps the settings of `key` if the caller changes `sampler`.
        per_model[key] = _build(model, copy.copy(sampler), key)
    return per_model[key]


def generate(model, prompt_token_ids, max_new_tokens, sampler="greedy", *,
             stop_token_ids=(), pad_token_id=0, prompt_padding_mask=None, prompt_lengths=None,
             encoder_padding_mask=None, start_token_id=1, banned_token_ids=(), logit_bias=None,
             segment_control=None, preference=None, ilql_beta=None, num_return_sequences=1,
             **sampler_keywords):
    """Generates token ids with a KV cache, the whole loop compiled with XLA.

    Args:
        model: a DecoderLM, an ILQLModel (decoded with its Q and V heads, see
            `adapters.ILQLAdapter`) or a Seq2SeqTransformer.
        prompt_token_ids: a list of token-id lists (any lengths), or an int
            array (batch, length) with optional `prompt_padding_mask` (True on
            the real tokens, a prefix of each row) or `prompt_lengths`. For a
            Seq2SeqTransformer this is the encoder input.
        max_new_tokens: tokens to generate after each row's prompt.
        sampler: a Sampler (`GreedySampler()`, `RandomSampler(seed, temperature)`,
            `TopKSampler(k, seed, temperature)`, `TopPSampler(p, k, seed,
            temperature)`, `BeamSampler(num_beams, length_penalty)`), a
            `samplers.serialize` dict, or a name in SAMPLERS.
        **sampler_keywords: with a sampler name only, its settings as keywords:
            temperature, seed, k (top_k), p (top_p), num_beams and length_penalty
            (beam); settings the named sampler does not use are ignored.

    Output options:
        num_return_sequences: samples per prompt (a random sampler's), returned as
            adjacent rows: prompt i's are rows i * n .. i * n + n - 1.
        stop_token_ids: a row ends after emitting one.
        pad_token_id: fills rows after their end (0).
        encoder_padding_mask, start_token_id: Seq2SeqTransformer only (start 1 =
            the tokenizers' <bos>).

    Preference options (pretraining with human preferences, ILQL):
        banned_token_ids: never emitted (e.g. the control tokens).
        segment_control: (segment-end token ids, control token id): after a row
            emits a segment-end token, e.g. a line break, the control token
            follows, as in conditional training's data; not for beam.
        logit_bias: a (vocabulary_size,) float array added to the logits before
            the ban, temperature and filtering, for every sampler (e.g.
            `preference.token_penalty_bias`); a runtime input.
        preference: (batch, dim) for DecoderLM(preference_dim>0).
        ilql_beta: an ILQLModel's advantage weight (default its `beta`; a runtime
            input); 0 decodes as its LM.

    Returns:
        DecoderLM: prompt + continuation; Seq2Seq: the generated target
        (without the start token). A list of lists (each row cut at its end)
        when the prompt was a list of lists, else an int32 numpy array
        (batch, width + max_new_tokens) padded with pad_token_id.

    Example:
        >>> model = DecoderLM.from_preset("tiny")
        >>> generate(model, [[1, 5, 9], [1, 7]], 4, sampler=TopKSampler(k=5, seed=0))
        >>> generate(model, [[1, 5, 9], [1, 7]], 4, sampler="top_k", k=5, seed=0)  # the same
    """
    sampler = _sampler(sampler, sampler_keywords)
    ids, lengths, was_list = _prompt_batch(prompt_token_ids, prompt_padding_mask,
                                           prompt_lengths, pad_token_id)
    if num_return_sequences != 1:
        if isinstance(num_return_sequences, bool) or not isinstance(
                num_return_sequences, (int, np.integer)) or num_return_sequences < 1:
            raise ValueError(f"num_return_sequences must be a positive int, got "
                             f"{num_return_sequences!r}")
        if not isinstance(sampler, RandomSampler):
            raise ValueError(f"num_return_sequences={num_return_sequences} needs a random "
                             f"sampler (random, top_k, top_p); {type(sampler).__name__} "
                             f"would return the same sequence each time")
        ids, lengths = (np.repeat(a, num_return_sequences, axis=0) for a in (ids, lengths))
        preference, encoder_padding_mask = (
            None if a is None else np.repeat(np.asarray(a), num_return_sequences, axis=0)
            for a in (preference, encoder_padding_mask))
    token_ids = dict(stop_token_ids=stop_token_ids, banned_token_ids=banned_token_ids,
                     pad_token_id=pad_token_id, start_token_id=start_token_id)
    _check(model, sampler, ids, max_new_tokens, token_ids, logit_bias, segment_control,
           ilql_beta)
    runtime = sampler.runtime()
    for name, value in (("preference", preference),
                        ("encoder_padding_mask", encoder_padding_mask)):
        if value is not None:
            runtime[name] = tf.constant(np.asarray(value))
    if logit_bias is not None:
        runtime["logit_bias"] = tf.constant(np.asarray(logit_bias, np.float32))
    if isinstance(model, ILQLModel):
        runtime["ilql_beta"] = tf.constant(float(model.beta if ilql_beta is None else ilql_beta))
    run = compiled_generate_fn(model, sampler, _static_key(
        sampler, max_new_tokens, logit_bias=logit_bias, segment_control=segment_control,
        **token_ids))
    tokens, ends = run(tf.constant(ids), tf.constant(lengths), runtime)
    tokens, ends = tokens.numpy(), ends.numpy()
    if is_seq2seq(model):
        tokens, ends = tokens[:, 1:], ends - 1
    if was_list:
        return [row[:end].tolist() for row, end in zip(tokens, ends)]
    return tokens
