"""The sampling loop over a KV cache: `sample_tokens`, traceable and XLA-compilable.

Rows run in lockstep from the shortest prompt: at position t a row whose prompt
is longer than t keeps its own prompt token (and writes its keys/values into the
cache), other rows emit a chosen token. The cache holds `prompt width +
max_new_tokens` slots, is written in place (dynamic-update-slice) and attended
with a causal mask, so every shape is static and one XLA program runs the whole
loop. Prefill runs the full prompt batch once; slots past a row's prompt are
overwritten by the decode steps before any later position reads them.
"""

import numpy as np
import tensorflow as tf
from keras import ops

from tfllm.generation.adapters import make_adapter
from tfllm.generation.sampling import banned_mask, choose_tokens
from tfllm.models import Seq2SeqTransformer


def _stop_mask(tokens, stop_token_ids):
    if not stop_token_ids:
        return tf.zeros(tf.shape(tokens), tf.bool)
    stops = tf.constant(sorted({int(t) for t in stop_token_ids}), tf.int32)
    return tf.reduce_any(tokens[:, None] == stops[None, :], axis=-1)


def _write_column(buffer, column, index):
    return ops.slice_update(buffer, tf.stack([0, index]), tf.cast(column, buffer.dtype)[:, None])


def decode(adapter, token_ids, lengths, max_new_tokens, greedy=True, temperature=1.0,
           top_k=0, top_p=1.0, seed=None, stop_token_ids=(), ban=None, pad_token_id=0,
           with_log_probs=True, logit_bias=None, segment_control=None):
    """The loop behind `sample_tokens`, over an adapter (see adapters.py).

    `logit_bias`: None or a (vocab,) float tensor added to the logits before the
    ban, temperature and filtering.
    `segment_control`: None or (segment_end, control_id): `segment_end` a (vocab,) bool
    tensor; after a row emits a token marked there, its next token is `control_id`,
    inserted like a prompt token (log-prob 0), as conditional training puts a control
    token at every segment start.
    """
    token_ids = tf.cast(token_ids, tf.int32)
    lengths = tf.cast(lengths, tf.int32)
    batch = tf.shape(token_ids)[0]
    total = (token_ids.shape[1] or tf.shape(token_ids)[1]) + max_new_tokens
    positions = tf.range(total)[None, :]
    in_prompt = positions < lengths[:, None]
    pad = tf.fill(tf.shape(in_prompt), pad_token_id)
    buffer = tf.where(in_prompt, tf.pad(token_ids, [[0, 0], [0, max_new_tokens]]), pad)
    hidden, state = adapter.prefill(token_ids, total)
    start = tf.reduce_min(lengths)
    logits = adapter.logits(tf.gather(hidden, start - 1, axis=1))
    seed = tf.zeros([2], tf.int32) if seed is None else tf.cast(seed, tf.int32)
    budget_end = lengths + max_new_tokens
    log_probs = tf.zeros(tf.shape(in_prompt), tf.float32) if with_log_probs else ()

    def emit(index, logits, buffer, done, end, log_probs):
        """Writes the token at `index`; returns the updated loop values."""
        step_seed = tf.random.experimental.stateless_fold_in(seed, index)
        chosen, sampling_lp, model_lp = choose_tokens(logits, greedy, temperature, top_k,
                                                      top_p, step_seed, ban, logit_bias)
        forced = index < lengths
        generated = tf.logical_and(tf.logical_not(forced), tf.logical_not(done))
        if segment_control is not None:
            segment_end, control_id = segment_control
            after_end = tf.gather(segment_end, buffer[:, index - 1])
            chosen = tf.where(after_end, tf.cast(control_id, chosen.dtype), chosen)
            zero = tf.zeros_like(sampling_lp)
            sampling_lp = tf.where(after_end, zero, sampling_lp)
            model_lp = tf.where(after_end, zero, model_lp)
        tokens = tf.where(forced, buffer[:, index], tf.where(done, pad_token_id, chosen))
        buffer = _write_column(buffer, tokens, index)
        if with_log_probs:
            zero = tf.zeros_like(sampling_lp)
            log_probs = tuple(
                _write_column(lp, tf.where(generated, value, zero), index)
                for lp, value in zip(log_probs, (sampling_lp, model_lp)))
        stopped = tf.logical_and(generated, _stop_mask(tokens, stop_token_ids))
        finished = tf.logical_or(stopped, index + 1 >= budget_end)
        end = tf.where(tf.logical_and(finished, tf.logical_not(done)), index + 1, end)
        return buffer, tf.logical_or(done, finished), end, log_probs

    done = tf.zeros([batch], tf.bool)
    loop_vars = (start,) + emit(start, logits, buffer, done, budget_end,
                                (log_probs, log_probs) if with_log_probs else ()) + (state,)

    def cond(index, buffer, done, end, log_probs, state):
        return tf.logical_and(index + 1 < total, tf.logical_not(tf.reduce_all(done)))

    def body(index, buffer, done, end, log_probs, state):
        logits, state = adapter.step(buffer[:, index], state, index)
        return (index + 1,) + emit(index + 1, logits, buffer, done, end, log_probs) + (state,)

    _, buffer, _, end, log_probs, _ = tf.while_loop(cond, body, loop_vars)
    generated_mask = tf.logical_and(tf.logical_not(in_prompt), positions < end[:, None])
    result = {"token_ids": buffer, "generated_mask": generated_mask, "lengths": end}
    if with_log_probs:
        result["log_probs"], result["model_log_probs"] = log_probs
    return result


def is_seq2seq(model):
    """True for an encoder-decoder model, whose prompt is the encoder input."""
    return isinstance(model, Seq2SeqTransformer)


def setup(model, prompt_token_ids, prompt_lengths, preference=None,
          encoder_padding_mask=None, start_token_id=1, ilql_beta=None):
    """(adapter, first decoder tokens, their lengths) for `model` and a prompt batch.

    `ilql_beta`: an ILQLModel's decoding beta (a float or scalar tensor; default its own).
    """
    prompt_token_ids = tf.cast(prompt_token_ids, tf.int32)
    prompt_lengths = tf.cast(prompt_lengths, tf.int32)
    if not is_seq2seq(model):
        adapter = make_adapter(model, preference=preference,
                               encoder_padding_mask=encoder_padding_mask, ilql_beta=ilql_beta)
        return adapter, prompt_token_ids, prompt_lengths
    if encoder_padding_mask is None:
        encoder_padding_mask = tf.sequence_mask(prompt_lengths, tf.shape(prompt_token_ids)[1])
    adapter = make_adapter(model, preference=preference, encoder_token_ids=prompt_token_ids,
                           encoder_padding_mask=encoder_padding_mask)
    batch = tf.shape(prompt_token_ids)[0]
    return adapter, tf.fill([batch, 1], int(start_token_id)), tf.ones([batch], tf.int32)


def sample_tokens(model, prompt_token_ids, prompt_lengths, max_new_tokens, temperature=1.0,
                  top_k=0, top_p=1.0, seed=None, stop_token_ids=(), banned_token_ids=(),
                  pad_token_id=0, preference=None, encoder_padding_mask=None,
                  start_token_id=1, logit_bias=None):
    """Samples continuations with a KV cache; pure TF ops, traceable in a tf.function.

    Call it inside `tf.function(jit_compile=True)` for speed (that is what
    `generate` does) or inside a SavedModel's function; symbolic inputs work.

    Args:
        model: a DecoderLM or Seq2SeqTransformer.
        prompt_token_ids: (batch, width) int prompts, each left-aligned and
            right-padded (for a Seq2SeqTransformer: the encoder input).
        prompt_lengths: (batch,) int, real tokens per row (>= 1).
        max_new_tokens: static int, tokens generated after each row's prompt.
        temperature: Python 0 for greedy (argmax); else > 0, scalar or tensor.
        top_k: sample among the k most likely tokens (0 = all): a Python int
            (fixed in the program) or a scalar int tensor (runtime; costs a
            full sort of the logits per step).
        top_p: nucleus mass (1.0 = off), float or tensor.
        seed: (2,) int32 stateless seed; same seed, same tokens.
        stop_token_ids: a row stops after emitting one of these.
        banned_token_ids: ids never emitted.
        pad_token_id: fills each row after its end.
        preference: (batch, preference_dim) for DecoderLM(preference_dim>0).
        encoder_padding_mask: Seq2Seq only; default from prompt_lengths.
        start_token_id: Seq2Seq only; the decoder's first token.
        logit_bias: None or a (vocab,) float array added to the logits before
            the ban, temperature and filtering (e.g.
            `preference.token_penalty_bias`); it is part of the sampling
            distribution, not of `model_log_probs`.

    Returns:
        dict of
          token_ids (batch, width + max_new_tokens) int32: prompt + generated,
              then pad_token_id (Seq2Seq: start token + generated, width 1);
          generated_mask (same shape) bool: True at generated tokens;
          lengths (batch,) int32: prompt + generated tokens per row;
          log_probs (same shape) float32: log-prob of each generated token under
              the sampling distribution (after ban, temperature, top-k, top-p;
              0 for greedy), 0 elsewhere;
          model_log_probs: the same under the raw model at temperature 1.
    """
    adapter, token_ids, lengths = setup(model, prompt_token_ids, prompt_lengths, preference,
                                        encoder_padding_mask, start_token_id)
    greedy = isinstance(temperature, (int, float)) and temperature == 0
    if isinstance(top_k, (int, np.integer)):
        top_k = int(top_k)
    if logit_bias is not None:
        logit_bias = tf.cast(logit_bias, tf.float32)
        if logit_bias.shape.rank != 1 or logit_bias.shape[0] not in (None,
                                                                     model.vocabulary_size):
            raise ValueError(f"logit_bias has shape {tuple(logit_bias.shape)}, expected "
                             f"({model.vocabulary_size},)")
    return decode(adapter, token_ids, lengths, max_new_tokens, greedy, temperature, top_k,
                  top_p, seed, tuple(stop_token_ids),
                  banned_mask(model.vocabulary_size, banned_token_ids), int(pad_token_id),
                  logit_bias=logit_bias)
