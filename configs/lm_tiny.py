"""A tiny decoder LM on the Python standard library: for tests (seconds on a CPU)."""

import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.model = dict(kind="decoder_lm", preset="tiny", max_sequence_length=32)
    config.data = dict(corpus="python_stdlib_code", files="", sequence_length=32,
                       shuffle_seed=0, max_files=60)
    config.tokenizer = dict(kind="byte", vocabulary_size=512, control_tokens=(), options={})
    config.objective = dict(name="mle", options={})
    config.optimizer = dict(weight_decay=0.01, beta_1=0.9, beta_2=0.99, epsilon=1e-8)
    config.schedule = dict(peak_learning_rate=3e-3, warmup_steps=2, decay="cosine",
                           decay_steps=0, final_fraction=0.1)
    config.training = dict(
        steps=6, batch_size=4, accumulation_steps=1, clip_norm=1.0, precision="float32",
        jit_compile=True, nan_policy="stop", seed=0, deterministic=False,
        log_every=1, eval_every=0, eval_steps=2,
        checkpoint_every_steps=3, checkpoint_every_minutes=0.0, keep_checkpoints=3,
        early_stopping_metric="", early_stopping_mode="min", early_stopping_patience=3,
        sample_every=0, num_samples=2, sample_length=16, sample_prompt="def ",
        sample_top_k=40, sample_temperature=1.0, sample_scorer="",
        histogram_every=0, profile_first=0, profile_last=0, progress=True, tpu="")
    config.evaluation = dict(mode="lm", split="validation", batches=2)
    return config
