"""A small Seq2SeqTransformer fine-tuned with tfllm-finetune (same layout as
configs/seq2seq_translation.py): pairs from config.data.train_file/test_file (TSV or
source/target JSONL; or --train_file/--eval_file) or an embedded corpus.

    tfllm-finetune --config=configs/seq2seq_small.py --workdir=runs/s2s --train_file=pairs.tsv
    tfllm-finetune --config=configs/seq2seq_small.py --workdir=runs/c2d \\
        --config.data.corpus=python_code_to_docstring
"""

import ml_collections


def get_config():
    config = ml_collections.ConfigDict()
    config.model = dict(kind="seq2seq", num_encoder_layers=1, num_decoder_layers=1,
                        num_heads=2, hidden_dim=32, intermediate_dim=64,
                        max_sequence_length=32, dropout=0.0)
    config.data = dict(kind="seq2seq", corpus="", train_file="", test_file="",
                       max_source_length=32, max_target_length=16, max_train_pairs=0,
                       shuffle_seed=0)
    config.tokenizer = dict(kind="byte", vocabulary_size=512, control_tokens=(), options={})
    config.objective = dict(name="seq2seq", options=dict(label_smoothing=0.1))
    config.optimizer = dict(weight_decay=0.01, beta_1=0.9, beta_2=0.98, epsilon=1e-8)
    config.schedule = dict(peak_learning_rate=3e-3, warmup_steps=2, decay="cosine",
                           decay_steps=0, final_fraction=0.1)
    config.training = dict(
        steps=6, batch_size=4, accumulation_steps=1, clip_norm=1.0, precision="float32",
        jit_compile=True, nan_policy="stop", seed=0, deterministic=False,
        log_every=1, eval_every=0, eval_steps=2,
        checkpoint_every_steps=3, checkpoint_every_minutes=0.0, keep_checkpoints=2,
        early_stopping_metric="", early_stopping_mode="min", early_stopping_patience=3,
        sample_every=0, num_samples=2, sample_length=8, sample_prompt="hello",
        sample_top_k=40, sample_temperature=1.0, sample_scorer="",
        histogram_every=0, profile_first=0, profile_last=0, progress=True, tpu="")
    config.evaluation = dict(mode="seq2seq", split="test", max_examples=0, max_new_tokens=16,
                             sampler="greedy", num_beams=4, length_penalty=0.6,
                             baseline="copy")
    return config
