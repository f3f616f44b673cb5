"""A policy saved with PolicySaver reloads in a fresh process with the same greedy actions."""

import json
import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from tfllm.rl.environment import tf_specs
from tfllm.rl.export import save_policy
from tfllm.rl.reinforce_agent import ReinforceAgent

LOADER = """
import json, sys
import numpy as np
from tfllm.rl.export import load_policy
from tf_agents.trajectories import time_step as ts
policy = load_policy(sys.argv[1])
obs = json.loads(sys.argv[2])
step = ts.restart({"tokens": np.array(obs["tokens"], np.int32),
                   "length": np.array(obs["length"], np.int32)}, batch_size=len(obs["length"]))
print(json.dumps(policy.action(step).action.numpy().tolist()))
"""


def test_saved_policy_reproduces_greedy_actions(toy, tmp_path, repo_root):
    env = toy.make_env(max_new_tokens=4)
    model = toy.tiny_lm(seed=3)
    agent = ReinforceAgent(*tf_specs(env), model, keras.optimizers.Adam())
    tokens = np.array([[1, 0, 0, 0, 0], [1, 5, 3, 0, 0], [1, 4, 4, 6, 0]], np.int32)
    lengths = np.array([1, 3, 4], np.int32)
    step = ts.restart({"tokens": tf.constant(tokens), "length": tf.constant(lengths)},
                      batch_size=3)
    expected = agent.policy.action(step).action.numpy()
    logits = model(tokens).numpy()[np.arange(3), lengths - 1]
    np.testing.assert_array_equal(expected, logits.argmax(-1))
    save_policy(agent.policy, str(tmp_path / "policy"))
    out = subprocess.run(
        [sys.executable, "-c", LOADER, str(tmp_path / "policy"),
         json.dumps({"tokens": tokens.tolist(), "length": lengths.tolist()})],
        capture_output=True, text=True, cwd=repo_root, timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == expected.tolist()
