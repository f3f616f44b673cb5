"""Validation of model inputs: clear errors at trace time, not wrong results."""

from keras import ops


def check_token_ids(token_ids, max_sequence_length, name="token_ids"):
    """Raises ValueError unless `token_ids` is an integer (batch, length) tensor that fits."""
    shape = tuple(token_ids.shape)
    if len(shape) != 2:
        raise ValueError(f"{name} must have rank 2 (batch, length), got shape {shape}")
    dtype = str(getattr(token_ids, "dtype", ""))
    if "int" not in dtype:
        raise ValueError(f"{name} must be an integer tensor, got dtype {dtype}")
    if shape[1] is not None and shape[1] > max_sequence_length:
        raise ValueError(f"{name} has length {shape[1]}, over max_sequence_length "
                         f"{max_sequence_length}")


def unpack(inputs, keys, token_keys, max_sequence_length):
    """Checks a model's inputs and returns them as a dict over `keys` (None if absent).

    Args:
        inputs: a dict, or a bare tensor standing for `token_keys[0]`.
        keys: every key the model accepts.
        token_keys: required integer token-id keys; each `*padding_mask` and
            `*segment_ids` key must have the shape of its `*token_ids` twin.
        max_sequence_length: the longest accepted length.
    """
    if not isinstance(inputs, dict):
        inputs = {token_keys[0]: inputs}
    unknown = set(inputs) - set(keys)
    if unknown:
        raise ValueError(f"unexpected input keys {sorted(unknown)}; expected {list(keys)}")
    values = {key: inputs.get(key) for key in keys}
    for key in token_keys:
        if values[key] is None:
            raise ValueError(f"missing input {key!r}; got keys {sorted(inputs)}")
        values[key] = ops.convert_to_tensor(values[key])
        check_token_ids(values[key], max_sequence_length, key)
        for twin_key in (key.replace("token_ids", "padding_mask"),
                         key.replace("token_ids", "segment_ids")):
            twin = values.get(twin_key)
            if twin is not None and tuple(twin.shape) != tuple(values[key].shape):
                raise ValueError(f"{twin_key} has shape {tuple(twin.shape)}, expected the "
                                 f"shape of {key} {tuple(values[key].shape)}")
    return values
