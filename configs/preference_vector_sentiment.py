"""Preference vector demo: DecoderLM(preference_dim=1) on python_docs_text sentences, the
vector being each sentence's VADER compound sentiment (from the sentiment scorer).

    .venv/bin/python tools/app_experiments.py \
        --config=configs/preference_vector_sentiment.py --workdir=runs/preference_vector

The tool writes the sentences with their sentiment to <workdir>/data/train.jsonl
({"text", "score"}) and runs the binaries, the same as

    tfllm-finetune --config=configs/preference_vector_sentiment.py --workdir=runs/pv \
        --train_file=runs/pv/data/train.jsonl     # data kind "scored_text"
    tfllm-evaluate --workdir=runs/pv              # evaluation mode "preference_vector"

Evaluation samples with the vector at +1 and -1 and scores the samples with the same
sentiment scorer: if the vector steers, the +1 samples score more positive. No samples
during or after training (training.num_samples=0): they would need a preference vector.
"""

import ml_collections

from tfllm.bin import defaults


def get_config():
    config = ml_collections.ConfigDict()
    config.model = dict(kind="decoder_lm", hidden_dim=128,
                        num_heads=4, intermediate_dim=512, num_layers=3,
                        max_sequence_length=64, preference_dim=1, activation="gelu_tanh",
                        dropout=0.1)
    # kind "scored_text": {"text", "score"} JSONL rows (train_file), one sentence per row
    # with its score as the vector; the tool makes them from the corpus' sentences of
    # min_characters-max_characters characters.
    config.data = dict(kind="scored_text", corpus="python_docs_text", train_file="",
                       test_file="", sequence_length=63, min_characters=30,
                       max_characters=240, shuffle_seed=0)
    config.tokenizer = dict(kind="sentencepiece", vocabulary_size=1500, control_tokens=(),
                            options={})
    config.objective = dict(name="mle", options={})
    config.optimizer = defaults.optimizer(beta_2=0.98)
    config.schedule = defaults.schedule(peak_learning_rate=2e-3, warmup_steps=50)
    config.training = defaults.training(
        steps=250, log_every=25, eval_steps=4, checkpoint_every_steps=125, num_samples=0)
    config.evaluation = dict(mode="preference_vector", prompt="", preference_values=(1.0, -1.0),
                             batch_size=64, num_batches=4, max_new_tokens=40, top_p=0.95,
                             temperature=1.0)
    return config
