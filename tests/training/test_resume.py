"""kill -9 after a checkpoint, rerun the same command: same weights and loss curve as an
uninterrupted run (bitwise: op determinism on CPU, data position restored by skipping)."""

import random
import time

import numpy as np


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path, helpers):
    steps = 24
    common = [f"--steps={steps}", "--slow=0.05"]
    reference = helpers.start([f"--workdir={tmp_path / 'ref'}", f"--out={tmp_path / 'ref.npz'}",
                               *common])
    args = [f"--workdir={tmp_path / 'run'}", f"--out={tmp_path / 'run.npz'}", *common]
    victim = helpers.start(args)
    state = tmp_path / "run" / "checkpoints" / "checkpoint"
    deadline = time.time() + 240
    while not state.exists() and time.time() < deadline and victim.poll() is None:
        time.sleep(0.05)
    assert state.exists(), "no checkpoint was written"
    time.sleep(random.uniform(0.0, 0.3))
    victim.kill()  # SIGKILL
    victim.wait()
    assert not (tmp_path / "run.npz").exists(), "the run finished before it was killed"
    helpers.finish(helpers.start(args))
    helpers.finish(reference)
    resumed, uninterrupted = helpers.weights(tmp_path / "run.npz"), helpers.weights(
        tmp_path / "ref.npz")
    for key in uninterrupted:
        np.testing.assert_array_equal(resumed[key], uninterrupted[key])
    curve = helpers.scalars(str(tmp_path / "run" / "tensorboard"), "train/loss")
    reference_curve = helpers.scalars(str(tmp_path / "ref" / "tensorboard"), "train/loss")
    assert sorted(curve) == list(range(1, steps + 1))
    assert curve == reference_curve
