"""The small LM of the RL sentiment experiment: python_docs_text, bytes, minutes on 2 CPUs.

    tfllm-pretrain --config=configs/rl_sentiment_lm.py --workdir=runs/rl_sentiment_lm
"""

import ml_collections

from tfllm.bin import defaults


def get_config():
    config = ml_collections.ConfigDict()
    # The speedrun's shape (configs/speedrun.py:tfllm). The byte tokenizer, batch and rate
    # stay those the RL results in docs/results/rl.md were measured with.
    config.model = dict(kind="decoder_lm", preset="speedrun")
    config.data = dict(corpus="python_docs_text", files="", sequence_length=128,
                       shuffle_seed=0, max_files=0)
    config.tokenizer = dict(kind="byte", vocabulary_size=512, control_tokens=(), options={})
    config.objective = dict(name="mle", options={})
    config.optimizer = defaults.optimizer()
    config.schedule = defaults.schedule(peak_learning_rate=2e-3, warmup_steps=50)
    config.training = defaults.training(
        steps=1500, log_every=100, eval_every=500, eval_steps=10, checkpoint_every_steps=500,
        sample_length=48, sample_prompt="The ")
    return config
