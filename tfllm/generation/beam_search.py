"""Beam search over a KV cache (traceable, XLA-compilable).

Each row keeps `num_beams` alive hypotheses and a pool of `num_beams` finished
ones. A step scores 2*num_beams candidates: those ending in a stop token (or
reaching the row's token budget) enter the finished pool with the
length-normalized score, the best `num_beams` others stay alive. Length
normalization is GNMT's (Wu et al. 2016): score / ((5 + n) / 6) ** length_penalty,
n = generated tokens; length_penalty = 0 ranks by total log-probability.
A row stops early once no alive beam can beat its worst finished one.
"""

import tensorflow as tf
from keras import ops

from tfllm.generation.sampling import NEG_INF, apply_ban, apply_bias


def gnmt_length_penalty(num_tokens, alpha):
    """((5 + n) / 6) ** alpha."""
    return tf.pow((5.0 + tf.cast(num_tokens, tf.float32)) / 6.0, alpha)


def _tile_state(state, num_beams):
    return tf.nest.map_structure(lambda x: tf.repeat(x, num_beams, axis=0), state)


def _gather_beams(x, beam_indices):
    """x (batch, beams, ...) reordered by beam_indices (batch, new_beams)."""
    return tf.gather(x, beam_indices, batch_dims=1)


def _top(scores, *values, k):
    """The k best `scores` (batch, n) with the matching entries of each `values`."""
    best, indices = tf.math.top_k(scores, k=k)
    return (best,) + tuple(_gather_beams(v, indices) for v in values)


def _same_shape(new, old):
    """`new` with `old`'s static shape (the loop values keep their entry shapes)."""
    new = tf.convert_to_tensor(new)
    new.set_shape(old.shape)
    return new


def beam_search(adapter, token_ids, lengths, max_new_tokens, num_beams, length_penalty=0.0,
                stop_token_ids=(), ban=None, pad_token_id=0, logit_bias=None):
    """Best hypothesis per row: dict(token_ids (batch, width + max_new_tokens), lengths, scores).

    `scores` is the length-normalized log-probability of the returned sequence's
    generated tokens (under softmax(logits + logit_bias) with the ban applied).
    Arguments as `decoding.decode`.
    """
    token_ids = tf.cast(token_ids, tf.int32)
    lengths = tf.cast(lengths, tf.int32)
    k = int(num_beams)
    alpha = float(length_penalty)
    # A static batch keeps the loop values' static shapes: a captured tf.shape is
    # unknown inside the loop body, and (1, k) broadcast with (None, k) gives (None, k).
    batch = token_ids.shape[0] if token_ids.shape[0] is not None else tf.shape(token_ids)[0]
    total = (token_ids.shape[1] or tf.shape(token_ids)[1]) + max_new_tokens
    in_prompt = tf.range(total)[None, :] < lengths[:, None]
    sequences = tf.where(in_prompt, tf.pad(token_ids, [[0, 0], [0, max_new_tokens]]),
                         pad_token_id)
    sequences = tf.repeat(sequences[:, None], k, axis=1)  # (batch, k, total)
    hidden, state = adapter.prefill(token_ids, total)
    start = tf.reduce_min(lengths)
    logits = tf.repeat(adapter.logits(tf.gather(hidden, start - 1, axis=1)), k, axis=0)
    state = _tile_state(state, k)
    budget_end = lengths + max_new_tokens
    stops = tf.constant(sorted({int(t) for t in stop_token_ids}) or [-1], tf.int32)
    neg_inf = tf.constant(NEG_INF, tf.float32)
    alive_scores = tf.concat([tf.zeros([batch, 1]), tf.fill([batch, k - 1], neg_inf)], axis=1)
    finished = (tf.fill([batch, k], neg_inf), sequences, tf.zeros([batch, k], tf.int32))
    identity = tf.tile(tf.range(k)[None], [batch, 1])
    max_penalty = gnmt_length_penalty(max_new_tokens, alpha)

    def emit(index, logits, sequences, alive_scores, finished, done):
        """Extends every row's beams with the token at `index`."""
        vocabulary_size = tf.shape(logits)[-1]
        log_probs = tf.nn.log_softmax(apply_ban(apply_bias(logits, logit_bias), ban), axis=-1)
        candidates = alive_scores[:, :, None] + tf.reshape(log_probs, [batch, k, -1])
        scores, flat = tf.math.top_k(tf.reshape(candidates, [batch, -1]), k=2 * k)
        beams, tokens = flat // vocabulary_size, flat % vocabulary_size
        num_generated = index + 1 - lengths
        ending = tf.logical_or(tf.reduce_any(tokens[:, :, None] == stops, axis=-1),
                               (index + 1 >= budget_end)[:, None])
        candidate_sequences = ops.slice_update(
            _gather_beams(sequences, beams), tf.stack([0, 0, index]), tokens[:, :, None])
        normalized = scores / gnmt_length_penalty(num_generated, alpha)[:, None]
        pool = _top(tf.concat([finished[0], tf.where(ending, normalized, neg_inf)], axis=1),
                    tf.concat([finished[1], candidate_sequences], axis=1),
                    tf.concat([finished[2], tf.broadcast_to(index + 1, [batch, 2 * k])], axis=1),
                    k=k)
        new_alive, new_beams, new_sequences = _top(
            tf.where(ending, neg_inf, scores), beams, candidate_sequences, k=k)
        searching = tf.logical_and(index >= lengths, tf.logical_not(done))
        forced = index < lengths
        prompt_tokens = tf.repeat(sequences[:, :1, index], k, axis=1)
        keep = tf.logical_not(searching)[:, None]
        beams_out = tf.where(keep, identity, new_beams)
        tokens_out = tf.where(forced[:, None], prompt_tokens,
                              tf.where(keep, pad_token_id, new_sequences[:, :, index]))
        sequences = tf.where(keep[:, :, None], sequences, new_sequences)
        alive_scores = tf.where(keep, alive_scores, new_alive)
        finished = tuple(tf.where(tf.reshape(keep, [-1] + [1] * (len(old.shape) - 1)), old, new)
                         for old, new in zip(finished, pool))
        best_possible = alive_scores[:, 0] / tf.maximum(
            gnmt_length_penalty(num_generated, alpha), max_penalty)
        settled = tf.logical_and(searching, tf.logical_or(
            index + 1 >= budget_end, best_possible < finished[0][:, -1]))
        done = tf.logical_or(done, settled)
        flat_beams = tf.reshape(beams_out + k * tf.range(batch)[:, None], [-1])
        return (sequences, alive_scores, finished, done,
                tf.reshape(tokens_out, [-1]), flat_beams)

    def cond(index, sequences, alive_scores, finished, done, state, tokens):
        return tf.logical_and(index + 1 < total, tf.logical_not(tf.reduce_all(done)))

    def body(index, sequences, alive_scores, finished, done, state_in, tokens_in):
        logits, state = adapter.step(tokens_in, state_in, index)
        *values, tokens, flat_beams = emit(index + 1, logits, sequences, alive_scores,
                                           finished, done)
        state = tf.nest.map_structure(lambda x: tf.gather(x, flat_beams), state)
        new = (index + 1, *values, state, tokens)
        old = (index, sequences, alive_scores, finished, done, state_in, tokens_in)
        return tf.nest.map_structure(_same_shape, new, old)

    *values, tokens, flat_beams = emit(start, logits, sequences, alive_scores, finished,
                                       tf.zeros([batch], tf.bool))
    state = tf.nest.map_structure(lambda x: tf.gather(x, flat_beams), state)
    _, _, _, finished, _, _, _ = tf.while_loop(cond, body, (start, *values, state, tokens))
    scores, best_sequences, ends = (x[:, 0] for x in finished)
    return {"token_ids": best_sequences, "lengths": ends, "scores": scores}
