"""DPO (or IPO) toward positive sentiment on VADER-labelled pairs of the docs LM's samples.

The pairs are those `tfllm-train-reward --config=configs/reward_sentiment.py` writes
(<workdir>/pairs_train.jsonl, pairs_validation.jsonl). tools/rl_experiments.py --step=dpo
runs it; the reference policy is a frozen copy of the starting model (see
tfllm/objectives/dpo.py). For IPO: --config.objective.options.loss_type=ipo.

    tfllm-finetune --config=configs/dpo_sentiment.py --workdir=runs/dpo_sentiment \
        --init_workdir=runs/rl_sentiment_lm \
        --train_file=runs/reward_sentiment/pairs_train.jsonl \
        --eval_file=runs/reward_sentiment/pairs_validation.jsonl

(--init_workdir or config.init_from: the policy's workdir; --train_file/--eval_file or
config.data.train_file/test_file.)
"""

import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.init_from = ""
    config.data = dict(kind="preference", train_file="", test_file="",
                       sequence_length=80, shuffle_seed=0)
    config.objective = dict(name="dpo", options={"beta": 0.1, "loss_type": "sigmoid"})
    config.optimizer = dict(weight_decay=0.0, beta_1=0.9, beta_2=0.99, epsilon=1e-8)
    config.schedule = dict(peak_learning_rate=3e-4, warmup_steps=20, decay="cosine",
                           decay_steps=0, final_fraction=0.1)
    config.training = dict(
        steps=300, batch_size=32, accumulation_steps=1, clip_norm=1.0, precision="float32",
        jit_compile=True, nan_policy="stop", seed=0, deterministic=False,
        log_every=50, eval_every=100, eval_steps=0,
        checkpoint_every_steps=100, checkpoint_every_minutes=0.0, keep_checkpoints=2,
        early_stopping_metric="", early_stopping_mode="max", early_stopping_patience=3,
        sample_every=0, num_samples=0, sample_length=0, sample_prompt="", sample_top_k=40,
        sample_temperature=1.0, sample_scorer="", histogram_every=0, profile_first=0,
        profile_last=0, progress=False, tpu="")
    return config
