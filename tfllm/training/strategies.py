"""One flag, four strategies: one_device, mirrored, multi_worker_mirrored, tpu."""

import json
import os

import tensorflow as tf

STRATEGIES = ("one_device", "mirrored", "multi_worker_mirrored", "tpu")


def make_strategy(name="one_device", num_cpu_devices=0, tpu=""):
    """Builds a tf.distribute strategy.

    Args:
        name: "one_device" (first GPU, else CPU), "mirrored" (all local GPUs, or
            `num_cpu_devices` logical CPU devices when there is no GPU),
            "multi_worker_mirrored" (cluster from TF_CONFIG; custom loop only) or
            "tpu" (TPUClusterResolver(`tpu`); not tested on this project's CI).
        num_cpu_devices: for "mirrored"/"multi_worker_mirrored" without GPUs, split the
            CPU into this many logical devices. Must run before any TensorFlow op.
    """
    if name not in STRATEGIES:
        raise ValueError(f"--strategy={name!r}: expected one of {', '.join(STRATEGIES)}")
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    gpus = tf.config.list_physical_devices("GPU")
    if num_cpu_devices > 1 and not gpus:
        split_cpu(num_cpu_devices)
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "mirrored":
        devices = None if gpus else [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if "TF_CONFIG" not in os.environ:
        raise ValueError("--strategy=multi_worker_mirrored needs the TF_CONFIG environment "
                         "variable (cluster and task)")
    try:
        json.loads(os.environ["TF_CONFIG"])
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG: invalid JSON ({e.msg})") from None
    return tf.distribute.MultiWorkerMirroredStrategy()


def split_cpu(num_devices):
    """Splits the physical CPU into `num_devices` logical devices (before any op)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current and len(current) == num_devices:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(num_devices)])
    except RuntimeError:
        raise ValueError(f"cannot split the CPU into {num_devices} devices: TensorFlow is "
                         "already initialized (configure devices before any op)") from None


def is_chief(strategy):
    """True on the worker that writes checkpoints and TensorBoard logs."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type is None or task_type == "chief" or (
        task_type == "worker" and task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict())


def num_workers(strategy):
    """How many worker processes train together (the chief and workers of its cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    cluster = resolver.cluster_spec().as_dict()
    return max(1, len(cluster.get("chief", ())) + len(cluster.get("worker", ())))


def worker_id(strategy):
    """This worker's task id (0 when not multi-worker)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(resolver.task_id or 0) if resolver is not None else 0
