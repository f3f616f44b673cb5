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
config.data.train_file/test_file.) `tfllm-evaluate --config=configs/dpo_sentiment.py
--workdir=runs/dpo_sentiment --config.init_from=... --config.data.test_file=...` gives the
implicit reward's pairwise accuracy on every held-out pair (config.evaluation).
"""

import ml_collections

from tfllm.bin import defaults


def get_config():
    config = ml_collections.ConfigDict()
    config.init_from = ""
    config.data = dict(kind="preference", train_file="", test_file="",
                       sequence_length=80, shuffle_seed=0)
    config.objective = dict(name="dpo", options={"beta": 0.1, "loss_type": "sigmoid"})
    config.optimizer = defaults.optimizer(weight_decay=0.0)
    config.schedule = defaults.schedule(peak_learning_rate=3e-4, warmup_steps=20)
    config.training = defaults.training(
        eval_every=100, checkpoint_every_steps=100, early_stopping_mode="max", num_samples=0,
        sample_length=0)
    config.evaluation = dict(mode="preference", reference_workdir="")
    config.lora = defaults.lora()
    return config
