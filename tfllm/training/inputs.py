"""Feeding a strategy: per-replica stacks of micro-batches, resumable by skipping.

Every replica receives, per training step, one dict of tensors shaped
(accumulation_steps, per_replica_batch, ...). A global-batch dataset is split row-wise
(replica r of worker w gets the r-th slice of worker w's rows), so a run on N devices
sees exactly the examples a one-device run sees at the same global batch.
"""

import tensorflow as tf


def _replica_stacks(dataset, accumulation_steps, replicas):
    """Per-replica batches (dealt round-robin) -> one (accumulation, batch, ...) stack each."""
    def regroup(x):
        # (accumulation, replicas, batch, ...) -> (replicas, accumulation, batch, ...)
        return tf.nest.map_structure(
            lambda t: tf.transpose(t, [1, 0] + list(range(2, t.shape.rank))), x)
    return (dataset.batch(replicas, drop_remainder=True)
            .batch(accumulation_steps, drop_remainder=True)
            .map(regroup).unbatch())


def _global_batch_size(dataset):
    sizes = {spec.shape[0] for spec in tf.nest.flatten(dataset.element_spec)}
    if len(sizes) != 1 or None in sizes:
        raise ValueError(f"a global-batch dataset needs one static batch size on every "
                         f"tensor (batch with drop_remainder=True); got {dataset.element_spec}")
    return sizes.pop()


def distribute(strategy, data, accumulation_steps=1, skip_steps=0):
    """A distributed dataset of replica stacks, starting after `skip_steps` steps.

    Args:
        data: a tf.data.Dataset of global batches, or a function
            `input_context -> dataset` of per-replica batches (sharded by the function).
        skip_steps: training steps already taken (resume): that many steps' worth of
            batches is skipped, deterministic as long as the pipeline is.
    """
    if isinstance(data, tf.data.Dataset):
        global_batch = _global_batch_size(data)
        replicas = strategy.num_replicas_in_sync
        if global_batch % replicas:
            raise ValueError(f"global batch {global_batch} is not divisible by "
                             f"{replicas} replicas")

        def make(context):
            workers = context.num_input_pipelines
            local = replicas // workers
            rows = global_batch // workers
            start = context.input_pipeline_id * rows
            ds = data.skip(skip_steps * accumulation_steps).map(
                lambda x: tf.nest.map_structure(lambda t: t[start:start + rows], x))
            ds = ds.rebatch(global_batch // replicas, drop_remainder=True)
            return _replica_stacks(ds, accumulation_steps, local).prefetch(2)
    else:
        def make(context):
            local = context.num_replicas_in_sync // context.num_input_pipelines
            ds = data(context).skip(skip_steps * accumulation_steps * local)
            return _replica_stacks(ds, accumulation_steps, local).prefetch(2)
    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    return strategy.distribute_datasets_from_function(make, options)
