"""Boolean attention masks: True where a query may attend to a key."""

from keras import ops


def causal_mask(query_length, key_length, query_offset=0):
    """(query_length, key_length) mask letting query i see keys <= i + query_offset."""
    query_positions = ops.arange(query_length)[:, None] + query_offset
    key_positions = ops.arange(key_length)[None, :]
    return key_positions <= query_positions


def attention_mask(query_length, key_length, key_padding_mask=None, causal=False,
                   query_offset=0):
    """Combines a causal mask with a (batch, key_length) padding mask.

    Returns a boolean mask broadcastable to (batch, query_length, key_length),
    or None when nothing is masked.
    """
    mask = causal_mask(query_length, key_length, query_offset)[None] if causal else None
    if key_padding_mask is not None:
        padding = ops.cast(key_padding_mask, "bool")[:, None, :]
        mask = padding if mask is None else ops.logical_and(mask, padding)
    return mask
