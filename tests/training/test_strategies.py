"""Cluster roles read from a strategy's public cluster resolver."""

import types

import pytest
import tensorflow as tf

from tfllm.training import strategies


def with_cluster(cluster, task_type, task_id):
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id)
    return types.SimpleNamespace(cluster_resolver=resolver)


@pytest.mark.parametrize("cluster, task_type, task_id, workers, chief, worker", [
    ({"worker": ["a:1", "b:2"]}, "worker", 0, 2, True, 0),
    ({"worker": ["a:1", "b:2"]}, "worker", 1, 2, False, 1),
    ({"chief": ["c:0"], "worker": ["a:1", "b:2"]}, "worker", 0, 3, False, 0),
    ({"chief": ["c:0"], "worker": ["a:1"]}, "chief", 0, 2, True, 0),
    ({"worker": ["a:1"]}, "worker", 0, 1, True, 0),
])
def test_roles_in_a_cluster(cluster, task_type, task_id, workers, chief, worker):
    strategy = with_cluster(cluster, task_type, task_id)
    assert strategies.num_workers(strategy) == workers
    assert strategies.is_chief(strategy) is chief
    assert strategies.worker_id(strategy) == worker


def test_a_local_strategy_is_one_chief_worker():
    for strategy in (tf.distribute.get_strategy(), tf.distribute.OneDeviceStrategy("/cpu:0"),
                     tf.distribute.MirroredStrategy(["/cpu:0"])):
        assert strategies.num_workers(strategy) == 1
        assert strategies.is_chief(strategy) and strategies.worker_id(strategy) == 0
