"""Reward model for positive sentiment: pairs sampled from the docs LM, labelled by VADER.

    tfllm-train-reward --config=configs/reward_sentiment.py --workdir=runs/reward_sentiment
        --config.init_from=runs/rl_sentiment_lm --config.pairs.sample_from=runs/rl_sentiment_lm

With --config.pairs.file=pairs.jsonl the pairs come from a user file instead, and with
--config.init_from="" the backbone is a new config.model (tokenizer from config.tokenizer).

`configs/reward_sentiment.py:encoder` is a new EncoderClassifier backbone (mean-pooled,
bidirectional) over a sentencepiece tokenizer trained on the docs corpus: VADER scores
words, and a word-piece model sees a word as a few tokens instead of its bytes.

    tfllm-train-reward --config=configs/reward_sentiment.py:encoder --workdir=runs/rm_enc
        --config.pairs.file=pairs_train.jsonl --config.pairs.validation_file=pairs_val.jsonl
"""

import ml_collections

from tfllm.bin import defaults


def get_config(backbone="decoder_lm"):
    if backbone not in ("decoder_lm", "encoder"):
        raise ValueError(f"configs/reward_sentiment.py:{backbone}: expected decoder_lm or encoder")
    config = ml_collections.ConfigDict()
    config.init_from = ""
    config.model = dict(kind="decoder_lm", num_layers=2, num_heads=2, hidden_dim=64,
                        intermediate_dim=128, max_sequence_length=64)
    config.data = dict(corpus="python_docs_text", files="", sequence_length=80, max_files=0)
    config.tokenizer = dict(kind="byte", vocabulary_size=512, control_tokens=(), options={})
    config.pairs = dict(file="", validation_file="", validation_fraction=0.1,
                        scorer="sentiment", scorer_options={"prefer": "positive"},
                        sample_from="", num_prompts=2048, num_validation=256, prompt_tokens=8,
                        max_new_tokens=64, top_k=0, temperature=1.0, min_margin=0.0,
                        include_prompt=True)
    config.objective = dict(name="bradley_terry", options={})
    config.optimizer = defaults.optimizer(weight_decay=0.0)
    config.schedule = defaults.schedule(warmup_steps=20)
    config.training = defaults.training(
        steps=600, eval_every=200, checkpoint_every_steps=200, early_stopping_mode="max",
        num_samples=0, sample_length=0)
    if backbone == "encoder":  # held-out accuracy 0.918 on the 20,568 pairs of docs/results/rl.md
        config.model = dict(kind="encoder_classifier", num_classes=2, num_layers=2, num_heads=4,
                            hidden_dim=128, intermediate_dim=256, max_sequence_length=64,
                            dropout=0.1, pooling="mean")
        config.tokenizer.update(kind="sentencepiece", vocabulary_size=4096)
        config.data.update(sequence_length=48)
        config.training.update(steps=1500, eval_every=250)
    return config
