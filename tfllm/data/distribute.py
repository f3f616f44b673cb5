"""Sharding input pipelines for tf.distribute (by data)."""


def shard(dataset, num_shards=1, shard_index=0, input_context=None):
    """`dataset.shard(num_shards, shard_index)`, or by a tf.distribute.InputContext.

    Shards are disjoint and together cover the dataset (element i goes to shard
    i % num_shards). Use it on whole documents, before shuffling.

    Example:
        strategy.distribute_datasets_from_function(
            lambda ctx: make_lm_dataset(docs, tok, 128, per_replica_batch,
                                        input_context=ctx))
    """
    if input_context is not None:
        num_shards = input_context.num_input_pipelines
        shard_index = input_context.input_pipeline_id
    if not isinstance(num_shards, int) or num_shards < 1:
        raise ValueError(f"num_shards must be an int >= 1, got {num_shards!r}")
    if not 0 <= shard_index < num_shards:
        raise ValueError(f"shard_index {shard_index} not in [0, {num_shards})")
    return dataset if num_shards == 1 else dataset.shard(num_shards, shard_index)


def order(dataset, seed=0, shuffle=True, repeat=False, num_shards=1, shard_index=0,
          input_context=None, shuffle_buffer_size=None, reshuffle_each_iteration=True):
    """Shard, then shuffle deterministically by `seed` (reshuffled each epoch unless
    `reshuffle_each_iteration` is False), then repeat: the example order every
    pipeline uses."""
    dataset = shard(dataset, num_shards, shard_index, input_context)
    if shuffle:
        buffer = shuffle_buffer_size
        if buffer is None:
            cardinality = int(dataset.cardinality())
            buffer = cardinality if cardinality > 0 else 1024
        dataset = dataset.shuffle(buffer, seed=seed,
                                  reshuffle_each_iteration=reshuffle_each_iteration)
    return dataset.repeat() if repeat else dataset
