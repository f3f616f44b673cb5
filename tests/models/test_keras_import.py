"""`import tfllm` alone registers tfllm's Keras classes (as `import keras_hub` does), and
still leaves TF-Agents unimported."""

import pathlib
import subprocess
import sys

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "written_before_init_fix"

SCRIPT = """
import sys
import keras
import numpy as np
import tfllm
expected = np.load(sys.argv[1] + "/expected.npz")
ids = expected["token_ids"]
for name in ("decoder_lm", "seq2seq", "encoder_classifier", "reward_model"):
    model = keras.saving.load_model(sys.argv[1] + f"/{name}.keras")
    inputs = ({"encoder_token_ids": ids, "decoder_token_ids": ids[:, :5]}
              if name == "seq2seq" else ids)
    np.testing.assert_allclose(np.asarray(model(inputs)), expected[name], atol=1e-5)
schedule = keras.optimizers.schedules.deserialize(
    {"class_name": "tfllm>WarmupDecay", "config": {"peak_learning_rate": 1.0,
                                                   "warmup_steps": 2}})
assert float(schedule(1)) == 0.5
print("tf_agents" in sys.modules, "tfllm.rl" in sys.modules)
"""


def test_plain_import_loads_tfllm_keras_files_without_tf_agents():
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(FIXTURES)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "False"]
