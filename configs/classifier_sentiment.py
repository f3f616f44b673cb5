"""Sequence classification: an EncoderClassifier fine-tuned on text + label.

Default data: python_docs_text sentences labelled negative / neutral / positive by the
sign of their VADER sentiment (the sentiment scorer); or user files (text<TAB>label TSV,
or {"text", "label"} JSONL) with --config.data.corpus= --config.data.train_file=...
--config.data.test_file=... --config.data.label_names=a,b (empty: sorted labels).

    .venv/bin/python tools/app_experiments.py --config=configs/classifier_sentiment.py \
        --workdir=runs/classifier

With the binaries (user files only: the corpus labelling lives in tools/app_experiments.py):

    tfllm-finetune --config=configs/classifier_sentiment.py --workdir=runs/classifier \
        --train_file=train.tsv --eval_file=test.tsv
    tfllm-evaluate --workdir=runs/classifier

Metrics on the test split: accuracy, macro/micro precision/recall/F1, the confusion
matrix (also a TensorBoard image under <workdir>/tensorboard/eval).
"""

import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.model = dict(kind="encoder_classifier", num_layers=2, num_heads=4, hidden_dim=128,
                        intermediate_dim=256, max_sequence_length=64, dropout=0.1,
                        pooling="mean")
    config.data = dict(kind="classification", corpus="python_docs_text", train_file="",
                       test_file="", label_names=("negative", "neutral", "positive"),
                       sequence_length=64, min_characters=30, max_characters=240,
                       shuffle_seed=0)
    config.tokenizer = dict(kind="wordpiece", vocabulary_size=1200, control_tokens=(),
                            options={})
    config.objective = dict(name="classification", options=dict(label_smoothing=0.0))
    config.optimizer = dict(weight_decay=0.01, beta_1=0.9, beta_2=0.98, epsilon=1e-8)
    config.schedule = dict(peak_learning_rate=1e-3, warmup_steps=30, decay="cosine",
                           decay_steps=0, final_fraction=0.1)
    config.training = dict(
        steps=300, batch_size=32, accumulation_steps=1, clip_norm=1.0, precision="float32",
        jit_compile=True, nan_policy="stop", seed=0, deterministic=False,
        log_every=25, eval_every=0, eval_steps=4,
        checkpoint_every_steps=300, checkpoint_every_minutes=0.0, keep_checkpoints=2,
        early_stopping_metric="", early_stopping_mode="min", early_stopping_patience=3,
        sample_every=0, num_samples=2, sample_length=16, sample_prompt="",
        sample_top_k=40, sample_temperature=1.0, sample_scorer="",
        histogram_every=0, profile_first=0, profile_last=0, progress=False, tpu="")
    config.evaluation = dict(mode="classification", split="test")
    return config
