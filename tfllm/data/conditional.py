"""Conditional training data (Korbak et al. 2023): a control token at each segment start.

The objective never tokenizes; the pipeline calls this hook on each tokenized document.
"""

import tensorflow as tf


def control_token_hook(tokenizer, threshold, drop_probability=0.0, seed=0,
                       good_token="<|good|>", bad_token="<|bad|>"):
    """Returns hook(token_ids, scores, document_index) for `make_lm_dataset(control_hook=)`.

    Each segment gets `good_token` when its misalignment score is <= `threshold`
    (lower is better), else `bad_token`, prepended to its tokens; with probability
    `drop_probability` a segment gets no token (so the model also learns unconditioned
    text). The drop decisions are a pure function of (seed, document_index): the same
    for every run and epoch.

    The hook maps (RaggedTensor int32 [S, (t)], float32 [S], int64 scalar) to
    (RaggedTensor int32 [S, (t')], float32 [S]); an inserted token carries its
    segment's score.

    Example:
        hook = control_token_hook(tok, threshold=0.0, drop_probability=0.01, seed=1)
        ds = make_lm_dataset(corpus, tok, 128, 8, control_hook=hook)
    """
    if not 0.0 <= drop_probability <= 1.0:
        raise ValueError(f"drop_probability {drop_probability} not in [0, 1]")
    good = tokenizer.token_to_id(good_token)
    bad = tokenizer.token_to_id(bad_token)
    threshold = float(threshold)

    def hook(token_ids, scores, document_index):
        control = tf.where(scores <= threshold, good, bad)
        random_seed = tf.stack([tf.constant(seed, tf.int64),
                                tf.cast(document_index, tf.int64)])
        keep = tf.random.stateless_uniform(tf.shape(scores), seed=random_seed) >= \
            drop_probability
        prefix = tf.RaggedTensor.from_row_lengths(
            tf.boolean_mask(control, keep), tf.cast(keep, tf.int64))
        return tf.concat([tf.cast(prefix, token_ids.dtype), token_ids], axis=1), scores

    return hook
