"""The step's compilation: XLA for float32, oneDNN bfloat16 products for mixed_bfloat16."""

import json
import os

import numpy as np
import pytest

from tfllm.training import compilation


@pytest.mark.parametrize("value,expected", [
    (True, True), (False, False), ("auto", "auto"), ("True", True), ("false", False),
    ("AUTO", "auto"), (1, True), (0, False)])
def test_config_values_parse(value, expected):
    assert compilation.parse_jit_compile(value) == expected


def test_an_unknown_value_is_named():
    with pytest.raises(ValueError, match=r"jit_compile='xla': expected one of"):
        compilation.parse_jit_compile("xla")


def test_auto_is_xla_for_float32_and_graphs_with_fusible_clusters_for_bfloat16(monkeypatch):
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    assert compilation.resolve_jit_compile("auto", "float32") is True
    assert "TF_XLA_FLAGS" not in os.environ
    assert compilation.resolve_jit_compile(True, "bfloat16") is True
    assert compilation.resolve_jit_compile("auto", "bfloat16") is False
    assert os.environ["TF_XLA_FLAGS"] == compilation.FUSIBLE_CLUSTERING


def test_flags_the_user_set_are_kept(monkeypatch):
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_min_cluster_size=2")
    assert compilation.cluster_fusible_ops() == (
        "--tf_xla_min_cluster_size=2 " + compilation.FUSIBLE_CLUSTERING)
    monkeypatch.setenv("TF_XLA_FLAGS", "--tf_xla_auto_jit=-1")
    assert compilation.cluster_fusible_ops() == "--tf_xla_auto_jit=-1"


# XLA's clustering pass, dumped (--tf_xla_clustering_debug).
DUMP_FLAGS = {"TF_XLA_FLAGS": "--tf_xla_clustering_debug"}


def _train(helpers, tmp_path, precision, steps, env=None):
    workdir = tmp_path / precision
    out = helpers.finish(helpers.start([
        f"--workdir={workdir}", f"--steps={steps}", f"--out={tmp_path / precision}.npz",
        f"--precision={precision}", f"--checkpoint_every={steps}"],
        env=env or {"TF_XLA_FLAGS": ""}), timeout=600)
    record = json.loads(out.strip().splitlines()[-1])
    losses = helpers.scalars(str(workdir / "tensorboard"), "train/loss")
    return record, np.array([losses[step] for step in range(1, steps + 1)])


def test_bfloat16_training_tracks_float32(helpers, tmp_path):
    """300 steps of the tiny task (25-step means 3.3 -> 2.05 nats): the bf16 run is on the
    oneDNN path (its Trainer step has XLA clusters of elementwise ops, no matmul in one)
    and its curve, averaged over 25-step windows, stays within 0.01 nats (and 0.5%) of
    float32 (measured: 1e-4)."""
    steps = 300
    float32, loss32 = _train(helpers, tmp_path, "float32", steps)
    dump = tmp_path / "dump"
    bfloat16, loss16 = _train(helpers, tmp_path, "mixed_bfloat16", steps,
                              env={**DUMP_FLAGS, "TF_DUMP_GRAPH_PREFIX": str(dump)})
    clustered, products = _clusters(dump)
    assert {"Mul", "AddV2", "Cast"} <= set(clustered), sorted(set(clustered))
    assert products and not [n.name for n in products if "_XlaCluster" in n.attr]
    assert (float32["compute_dtype"], float32["trainer_jit_compile"]) == ("float32", True)
    assert (bfloat16["compute_dtype"], bfloat16["trainer_jit_compile"]) == ("bfloat16", False)
    assert "--tf_xla_auto_jit=fusible" in bfloat16["tf_xla_flags"]
    windows32 = loss32.reshape(-1, 25).mean(axis=1)
    windows16 = loss16.reshape(-1, 25).mean(axis=1)
    assert windows32[-1] < 0.7 * windows32[0]  # it learned (3.3 -> 2.05 nats)
    gap = np.abs(windows16 - windows32)
    assert gap.max() < 0.01 and (gap / windows32).max() < 0.005, (windows32, windows16)
    assert not np.array_equal(loss16, loss32)  # the products really were bfloat16


def _clusters(dump):
    """(ops in XLA clusters, matmul nodes) of the clustering pass's dumped graphs."""
    import tensorflow as tf
    from google.protobuf import text_format

    clustered, products = [], []
    for path in dump.glob("mark_for_compilation_annotated*.pbtxt"):
        graph = text_format.Parse(path.read_text(), tf.compat.v1.GraphDef())
        nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
        clustered += [n.op for n in nodes if "_XlaCluster" in n.attr]
        products += [n for n in nodes if n.op in ("MatMul", "BatchMatMulV2", "BatchMatMulV3")]
    return clustered, products


def test_the_pretrain_binary_takes_the_bfloat16_path(repo_root, tmp_path):
    """tfllm-pretrain sets the flags before TensorFlow's runtime starts (importing tfllm
    does not start it), so its bf16 step is clustered as the Trainer's."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "tfllm.bin.pretrain",
         f"--config={repo_root / 'configs' / 'lm_tiny.py'}", f"--workdir={tmp_path / 'run'}",
         "--config.training.steps=2", "--config.training.precision=mixed_bfloat16",
         "--config.data.max_files=20", "--config.training.num_samples=0",
         "--config.training.eval_steps=1", "--config.training.progress=False"],
        capture_output=True, text=True, timeout=300, cwd=repo_root,
        env={**os.environ, **DUMP_FLAGS, "TF_DUMP_GRAPH_PREFIX": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    clustered, products = _clusters(tmp_path)
    assert {"Mul", "AddV2"} <= set(clustered), sorted(set(clustered))
    assert products and not [n.name for n in products if "_XlaCluster" in n.attr]
