"""Choosing the next token from logits: greedy, temperature, top-k, top-p (traceable).

Sampling uses the Gumbel-max trick with stateless noise, so a (seed, position)
pair fixes the draw: the same seed gives the same tokens, in eager, graph and XLA.
"""

import numpy as np
import tensorflow as tf

NEG_INF = float("-inf")


def banned_mask(vocabulary_size, banned_token_ids):
    """(vocabulary_size,) bool mask, True at banned ids; None when nothing is banned."""
    banned = sorted({int(t) for t in banned_token_ids})
    if not banned:
        return None
    for token in banned:
        if not 0 <= token < vocabulary_size:
            raise ValueError(f"banned_token_ids contains {token}, outside the vocabulary "
                             f"[0, {vocabulary_size})")
    if len(banned) == vocabulary_size:
        raise ValueError("banned_token_ids bans the whole vocabulary")
    mask = [False] * vocabulary_size
    for token in banned:
        mask[token] = True
    return tf.constant(mask)


def apply_ban(logits, ban):
    """Logits with banned ids at -inf (`ban` from `banned_mask`, or None)."""
    return logits if ban is None else tf.where(ban, tf.cast(NEG_INF, logits.dtype), logits)


def apply_bias(logits, bias):
    """Logits plus a (vocab,) float `bias` (None = unchanged)."""
    return logits if bias is None else logits + tf.cast(bias, logits.dtype)


def _is_static_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def filter_logits(logits, temperature, top_k=0, top_p=1.0):
    """Logits of the sampling distribution: divided by temperature, then top-k, then top-p.

    Args:
        logits: (batch, vocab) float32, already banned.
        temperature: scalar > 0 (Python number or tensor).
        top_k: keep the k largest logits (0 = all). A Python int builds a
            `top_k(k)` (cheapest, one program per k); a scalar int tensor is a
            runtime k (a full sort, then a threshold at the k-th value; 0 or
            >= vocab = all).
        top_p: Python float or tensor; keep the smallest set of most likely
            tokens whose probability reaches p (1.0 = all; the top token is
            always kept). Ties at the cut-off value are all kept.
    """
    logits = logits / tf.cast(temperature, logits.dtype)
    neg_inf = tf.cast(NEG_INF, logits.dtype)
    use_top_p = not (isinstance(top_p, (int, float)) and top_p >= 1.0)
    static_k = _is_static_int(top_k)
    if static_k and not top_k and not use_top_p:
        return logits
    vocabulary_size = logits.shape[-1] or tf.shape(logits)[-1]
    if static_k:
        sorted_logits = tf.math.top_k(logits, k=int(top_k) or vocabulary_size,
                                      sorted=True).values
        threshold = sorted_logits[:, -1:]
    else:
        sorted_logits = tf.sort(logits, axis=-1, direction="DESCENDING")
        k = tf.cast(top_k, tf.int32)
        k = tf.where(k > 0, tf.minimum(k, vocabulary_size), vocabulary_size)
        threshold = sorted_logits[:, k - 1][:, None]
        # Beyond the k-th rank: out of the distribution that top-p cuts.
        sorted_logits = tf.where(tf.range(vocabulary_size)[None, :] < k, sorted_logits,
                                 neg_inf)
    if use_top_p:
        probs = tf.nn.softmax(sorted_logits, axis=-1)
        mass_before = tf.cumsum(probs, axis=-1, exclusive=True)
        keep = mass_before < tf.cast(top_p, probs.dtype)
        kept = tf.maximum(tf.reduce_sum(tf.cast(keep, tf.int32), axis=-1, keepdims=True), 1)
        threshold = tf.gather(sorted_logits, kept - 1, batch_dims=1)
    return tf.where(logits < threshold, neg_inf, logits)


def gumbel_argmax(logits, seed):
    """A sample from softmax(logits) per row (Gumbel-max), from a (2,) int32 seed."""
    uniform = tf.random.stateless_uniform(tf.shape(logits), seed, minval=1e-20, maxval=1.0,
                                          dtype=logits.dtype)
    return tf.argmax(logits - tf.math.log(-tf.math.log(uniform)), axis=-1,
                     output_type=tf.int32)


def token_log_probs(logits, token_ids):
    """log softmax(logits)[token] per row, float32 (batch,)."""
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    return tf.gather(log_probs, token_ids[:, None], batch_dims=1)[:, 0]


def choose_tokens(logits, greedy, temperature, top_k, top_p, seed, ban=None, bias=None):
    """Picks one token per row.

    Args:
        logits: (batch, vocab) float32 raw model logits.
        greedy: static bool; argmax (sampling log-prob 0).
        temperature, top_k, top_p: see `filter_logits` (ignored when greedy).
        seed: (2,) int32 stateless seed for this step (ignored when greedy).
        ban: from `banned_mask`.
        bias: None or a (vocab,) float logit bias, added before the ban,
            temperature and filtering (part of the sampling distribution).

    Returns:
        (tokens (batch,) int32, log-prob under the sampling distribution,
        log-prob under the raw model at temperature 1).
    """
    banned = apply_ban(apply_bias(logits, bias), ban)
    if greedy:
        tokens = tf.argmax(banned, axis=-1, output_type=tf.int32)
        sampling_log_probs = tf.zeros(tf.shape(tokens), logits.dtype)
    else:
        filtered = filter_logits(banned, temperature, top_k, top_p)
        tokens = gumbel_argmax(filtered, seed)
        sampling_log_probs = token_log_probs(filtered, tokens)
    return tokens, sampling_log_probs, token_log_probs(logits, tokens)
