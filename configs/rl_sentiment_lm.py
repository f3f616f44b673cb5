"""The small LM of the RL sentiment experiment: python_docs_text, bytes, minutes on 2 CPUs.

    tfllm-pretrain --config=configs/rl_sentiment_lm.py --workdir=runs/rl_sentiment_lm
"""

import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    # The speedrun's shape (configs/speedrun.py:tfllm). The byte tokenizer, batch and rate
    # stay those the RL results in docs/results/rl.md were measured with.
    config.model = dict(kind="decoder_lm", preset="speedrun")
    config.data = dict(corpus="python_docs_text", files="", sequence_length=128,
                       shuffle_seed=0, max_files=0)
    config.tokenizer = dict(kind="byte", vocabulary_size=512, control_tokens=(), options={})
    config.objective = dict(name="mle", options={})
    config.optimizer = dict(weight_decay=0.01, beta_1=0.9, beta_2=0.99, epsilon=1e-8)
    config.schedule = dict(peak_learning_rate=2e-3, warmup_steps=50, decay="cosine",
                           decay_steps=0, final_fraction=0.1)
    config.training = dict(
        steps=1500, batch_size=32, accumulation_steps=1, clip_norm=1.0, precision="float32",
        jit_compile=True, nan_policy="stop", seed=0, deterministic=False,
        log_every=100, eval_every=500, eval_steps=10,
        checkpoint_every_steps=500, checkpoint_every_minutes=0.0, keep_checkpoints=2,
        early_stopping_metric="", early_stopping_mode="min", early_stopping_patience=3,
        sample_every=0, num_samples=2, sample_length=48, sample_prompt="The ",
        sample_top_k=40, sample_temperature=1.0, sample_scorer="",
        histogram_every=0, profile_first=0, profile_last=0, progress=False, tpu="")
    return config
