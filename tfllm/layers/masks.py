"""Boolean attention masks: True where a query may attend to a key."""

from keras import ops


def causal_mask(query_length, key_length, query_offset=0):
    """(query_length, key_length) mask letting query i see keys <= i + query_offset."""
    query_positions = ops.arange(query_length)[:, None] + query_offset
    key_positions = ops.arange(key_length)[None, :]
    return key_positions <= query_positions


def segment_mask(segment_ids):
    """(batch, length, length) mask letting a token see the tokens of its own segment
    (packed examples: ids 1, 2, ... per row); segment 0 (padding) is seen by none."""
    segment_ids = ops.convert_to_tensor(segment_ids)
    same = ops.equal(segment_ids[:, :, None], segment_ids[:, None, :])
    return ops.logical_and(same, ops.greater(segment_ids, 0)[:, None, :])


def segment_positions(segment_ids):
    """(batch, length) int32 position of each token within its segment: the number of
    earlier tokens of the same id (segments are contiguous runs of one id)."""
    segment_ids = ops.convert_to_tensor(segment_ids)
    length = ops.shape(segment_ids)[1]
    same = ops.equal(segment_ids[:, :, None], segment_ids[:, None, :])
    earlier = causal_mask(length, length, query_offset=-1)[None]  # key < query
    return ops.sum(ops.cast(ops.logical_and(same, earlier), "int32"), axis=-1)


def attention_mask(query_length, key_length, key_padding_mask=None, causal=False,
                   query_offset=0, segment_ids=None):
    """Combines a causal mask, a (batch, key_length) padding mask and, for packed rows,
    the segment mask of (batch, length) `segment_ids` (self-attention only).

    Returns a boolean mask broadcastable to (batch, query_length, key_length),
    or None when nothing is masked.
    """
    mask = causal_mask(query_length, key_length, query_offset)[None] if causal else None
    for extra in (
            None if key_padding_mask is None else
            ops.cast(key_padding_mask, "bool")[:, None, :],
            None if segment_ids is None else segment_mask(segment_ids)):
        if extra is not None:
            mask = extra if mask is None else ops.logical_and(mask, extra)
    return mask
