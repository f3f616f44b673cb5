"""Seq2seq translation on user TSV pairs (source<TAB>target per line; extra columns dropped).

    .venv/bin/python tools/app_experiments.py --config=configs/seq2seq_translation.py \
        --workdir=runs/translation --config.data.train_file=train.tsv \
        --config.data.test_file=test.tsv
"""

import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.model = dict(kind="seq2seq", num_encoder_layers=2, num_decoder_layers=2,
                        num_heads=4, hidden_dim=128, intermediate_dim=512,
                        max_sequence_length=64, dropout=0.1, activation="gelu")
    # Pairs: corpus (embedded, split by the corpus) or train_file/test_file (TSV or JSONL
    # with "source"/"target" fields).
    config.data = dict(kind="seq2seq", corpus="", train_file="", test_file="",
                       max_source_length=48, max_target_length=48, max_train_pairs=0,
                       shuffle_seed=0)
    config.tokenizer = dict(kind="sentencepiece", vocabulary_size=1000, control_tokens=(),
                            options={})
    config.objective = dict(name="seq2seq", options=dict(
        label_smoothing=0.1, teacher_forcing_ratio=1.0, final_teacher_forcing_ratio=0.8,
        decay_steps=400, seed=0))
    config.optimizer = dict(weight_decay=0.01, beta_1=0.9, beta_2=0.98, epsilon=1e-8)
    config.schedule = dict(peak_learning_rate=1e-3, warmup_steps=40, decay="cosine",
                           decay_steps=0, final_fraction=0.1)
    config.training = dict(
        steps=400, batch_size=32, accumulation_steps=1, clip_norm=1.0, precision="float32",
        jit_compile=True, nan_policy="stop", seed=0, deterministic=False,
        log_every=20, eval_every=0, eval_steps=4,
        checkpoint_every_steps=200, checkpoint_every_minutes=0.0, keep_checkpoints=2,
        early_stopping_metric="", early_stopping_mode="min", early_stopping_patience=3,
        sample_every=0, num_samples=2, sample_length=16, sample_prompt="",
        sample_top_k=40, sample_temperature=1.0, sample_scorer="",
        histogram_every=0, profile_first=0, profile_last=0, progress=False, tpu="")
    config.evaluation = dict(mode="seq2seq", split="test", max_examples=0, max_new_tokens=24,
                             samplers=("greedy", "beam"), num_beams=4, length_penalty=0.6,
                             baseline="copy")
    return config
