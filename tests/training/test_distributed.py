"""Mirrored over 2 logical CPUs equals one device; two workers end with identical weights."""

import json

import numpy as np


def test_mirrored_matches_one_device(tmp_path, helpers):
    out = tmp_path / "w.npz"
    log = helpers.finish(helpers.start([
        f"--workdir={tmp_path / 'mirrored'}", "--strategy=mirrored", "--cpu_devices=2",
        "--steps=6", f"--out={out}", "--compare"]))
    assert json.loads(log.strip().splitlines()[-1])["replicas"] == 2
    w = helpers.weights(out)
    for key in [k for k in w if not k.startswith("one_device")]:
        # Same global batch, mean of two half-batch gradients vs one full-batch gradient:
        # float32 summation order only (observed < 1e-6).
        np.testing.assert_allclose(w[key], w["one_device_" + key], atol=1e-5)
    mirrored = helpers.scalars(str(tmp_path / "mirrored" / "tensorboard"), "train/loss")
    single = helpers.scalars(str(tmp_path / "mirrored_one_device" / "tensorboard"), "train/loss")
    assert sorted(mirrored) == list(range(1, 7))
    np.testing.assert_allclose([mirrored[s] for s in sorted(mirrored)],
                               [single[s] for s in sorted(single)], rtol=1e-5)
    assert mirrored[6] < mirrored[1]


def test_two_workers_end_with_identical_weights(tmp_path, helpers):
    ports = [helpers.free_port(), helpers.free_port()]
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    processes = []
    for task in range(2):
        config = {"cluster": cluster, "task": {"type": "worker", "index": task}}
        processes.append(helpers.start(
            [f"--workdir={tmp_path / 'run'}", "--strategy=multi_worker_mirrored", "--steps=4",
             f"--out={tmp_path / f'w{task}.npz'}"], env={"TF_CONFIG": json.dumps(config)}))
    logs = [helpers.finish(p) for p in processes]
    assert [json.loads(log.strip().splitlines()[-1])["replicas"] for log in logs] == [2, 2]
    first, second = helpers.weights(tmp_path / "w0.npz"), helpers.weights(tmp_path / "w1.npz")
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    # Only the chief keeps checkpoints and events; the other worker's copies are removed.
    checkpoints = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert "checkpoint" in checkpoints and not any(n.startswith(".worker") for n in checkpoints)
    assert sorted(helpers.scalars(str(tmp_path / "run" / "tensorboard"), "train/loss")) == [
        1, 2, 3, 4]
