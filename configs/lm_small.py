"""A small decoder LM on the Python standard library (minutes on 2 CPU cores).

    tfllm-pretrain --config=configs/lm_small.py --workdir=runs/lm_small

Model, tokenizer, optimizer, schedule and batch are the speedrun's recipe
(configs/speedrun.py:tfllm, docs/performance.md "Speedrun").
"""

import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.model = dict(kind="decoder_lm", preset="speedrun")
    config.data = dict(corpus="python_stdlib_code", files="", sequence_length=128,
                       shuffle_seed=0, max_files=120)
    config.tokenizer = dict(kind="sentencepiece", vocabulary_size=4096, control_tokens=(),
                            options={"model_type": "bpe"})
    config.objective = dict(name="mle", options={})
    config.optimizer = dict(weight_decay=0.1, beta_1=0.9, beta_2=0.99, epsilon=1e-8)
    config.schedule = dict(peak_learning_rate=1e-3, warmup_steps=30, decay="cosine",
                           decay_steps=0, final_fraction=0.1)
    config.training = dict(
        steps=380, batch_size=8, accumulation_steps=1, clip_norm=1.0, precision="float32",
        jit_compile=True, nan_policy="stop", seed=0, deterministic=False,
        log_every=10, eval_every=100, eval_steps=8,
        checkpoint_every_steps=100, checkpoint_every_minutes=5.0, keep_checkpoints=3,
        early_stopping_metric="", early_stopping_mode="min", early_stopping_patience=3,
        sample_every=100, num_samples=3, sample_length=96, sample_prompt="def ",
        sample_top_k=40, sample_temperature=0.8, sample_scorer="",
        histogram_every=0, profile_first=0, profile_last=0, progress=True, tpu="")
    config.evaluation = dict(mode="lm", split="validation", batches=8)
    return config
