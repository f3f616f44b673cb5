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
