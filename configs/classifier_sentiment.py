"""Sequence classification: an EncoderClassifier fine-tuned on text + label.

Default data: python_docs_text sentences labelled negative / neutral / positive by the
sign of their VADER sentiment (the sentiment scorer); or user files (text<TAB>label TSV,
or {"text", "label"} JSONL) with --config.data.corpus= --config.data.train_file=...
--config.data.test_file=... --config.data.label_names=a,b (empty: sorted labels).

    .venv/bin/python tools/app_experiments.py --config=configs/classifier_sentiment.py \
        --workdir=runs/classifier

The tool labels the corpus sentences, writes them to <workdir>/data/{train,test}.jsonl
and runs the binaries, as you can on any labelled files:

    tfllm-finetune --config=configs/classifier_sentiment.py --workdir=runs/classifier \
        --train_file=train.tsv --eval_file=test.tsv
    tfllm-evaluate --workdir=runs/classifier

Metrics on the test split: accuracy, macro/micro precision/recall/F1, the confusion
matrix (also a TensorBoard image under <workdir>/tensorboard/eval).
"""

import ml_collections

from tfllm.bin import defaults


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
    config.optimizer = defaults.optimizer(beta_2=0.98)
    config.schedule = defaults.schedule()
    config.training = defaults.training(log_every=25, eval_steps=4, checkpoint_every_steps=300)
    config.evaluation = dict(mode="classification", split="test")
    return config
