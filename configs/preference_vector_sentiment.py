"""Preference vector demo: DecoderLM(preference_dim=1) on python_docs_text sentences, the
vector being each sentence's VADER compound sentiment (from the sentiment scorer).

    .venv/bin/python tools/app_experiments.py \
        --config=configs/preference_vector_sentiment.py --workdir=runs/preference_vector

Evaluation samples with the vector at +1 and -1 and scores the samples with the same
sentiment scorer: if the vector steers, the +1 samples score more positive.
"""

import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.model = dict(kind="decoder_lm", hidden_dim=128,
                        num_heads=4, intermediate_dim=512, num_layers=3,
                        max_sequence_length=64, preference_dim=1, activation="gelu_tanh",
                        dropout=0.1)
    config.data = dict(corpus="python_docs_text", sequence_length=63, min_characters=30,
                       max_characters=240, shuffle_seed=0)
    config.tokenizer = dict(kind="sentencepiece", vocabulary_size=1500, control_tokens=(),
                            options={})
    config.objective = dict(name="mle", options={})
    config.optimizer = dict(weight_decay=0.01, beta_1=0.9, beta_2=0.98, epsilon=1e-8)
    config.schedule = dict(peak_learning_rate=2e-3, warmup_steps=50, decay="cosine",
                           decay_steps=0, final_fraction=0.1)
    config.training = dict(
        steps=250, batch_size=32, accumulation_steps=1, clip_norm=1.0, precision="float32",
        jit_compile=True, nan_policy="stop", seed=0, deterministic=False,
        log_every=25, eval_every=0, eval_steps=4,
        checkpoint_every_steps=125, checkpoint_every_minutes=0.0, keep_checkpoints=2,
        early_stopping_metric="", early_stopping_mode="min", early_stopping_patience=3,
        sample_every=0, num_samples=2, sample_length=16, sample_prompt="",
        sample_top_k=40, sample_temperature=1.0, sample_scorer="",
        histogram_every=0, profile_first=0, profile_last=0, progress=False, tpu="")
    config.evaluation = dict(mode="preference_vector", prompt="", preference_values=(1.0, -1.0),
                             batch_size=64, num_batches=4, max_new_tokens=40, top_p=0.95,
                             temperature=1.0)
    return config
