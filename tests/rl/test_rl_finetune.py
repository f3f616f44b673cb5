"""tfllm-rl-finetune pieces: the LM gains a value head without changing its logits."""

import numpy as np

from tfllm.bin.rl_finetune import with_value_head


def test_with_value_head_keeps_the_lm(toy):
    lm = toy.tiny_lm(value_head=False, seed=4)
    model = with_value_head(lm)
    tokens = np.array([[1, 5, 3, 4]], np.int32)
    np.testing.assert_allclose(model(tokens), lm(tokens), atol=1e-6)
    _, hidden = model.call_with_hidden(tokens)
    np.testing.assert_array_equal(model.value_head(hidden), np.zeros((1, 4)))
    assert with_value_head(model) is model


def _run(repo_root, module, *args):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          cwd=repo_root, timeout=600, check=False)


def test_resume_keeps_the_initial_evaluation_of_the_starting_model(tmp_path, repo_root):
    """A run that died after a checkpoint (no eval/metrics.json yet) resumes, and its
    `initial` is still the starting model's evaluation, identical to an unbroken run's."""
    import json
    import os

    lm = tmp_path / "lm"
    out = _run(repo_root, "tfllm.bin.pretrain", "--config=configs/lm_tiny.py", f"--workdir={lm}",
               "--config.training.steps=2", "--config.data.max_files=5")
    assert out.returncode == 0, out.stderr[-2000:]
    rl = tmp_path / "rl"
    args = ["--config=configs/rl_sentiment.py", f"--workdir={rl}", f"--config.init_from={lm}",
            "--config.data.corpus=python_stdlib_code", "--config.data.max_files=5",
            "--config.env.max_new_tokens=4", "--config.env.prompt_tokens=2",
            "--config.driver.num_episodes=4", "--config.eval.num_episodes=4",
            "--config.training.sample_every=0", "--config.training.checkpoint_every=1"]
    out = _run(repo_root, "tfllm.bin.rl_finetune", *args, "--config.training.iterations=1")
    assert out.returncode == 0, out.stderr[-2000:]
    metrics_path = rl / "eval" / "metrics.json"
    first = json.loads(metrics_path.read_text())
    assert first["iterations"] == 1
    os.remove(metrics_path)  # as if the run had died before its final evaluation
    out = _run(repo_root, "tfllm.bin.rl_finetune", *args, "--config.training.iterations=2")
    assert out.returncode == 0, out.stderr[-2000:]
    second = json.loads(metrics_path.read_text())
    assert second["iterations"] == 2
    assert second["initial"]["rewards"] == first["initial"]["rewards"]
    assert second["initial"]["samples"] == first["initial"]["samples"]
    assert second["initial"]["kl_to_reference"] == 0.0
