"""A small Seq2SeqTransformer fine-tuned with tfllm-finetune (same layout as
configs/seq2seq_translation.py): pairs from config.data.train_file/test_file (TSV or
source/target JSONL; or --train_file/--eval_file) or an embedded corpus.

    tfllm-finetune --config=configs/seq2seq_small.py --workdir=runs/s2s --train_file=pairs.tsv
    tfllm-finetune --config=configs/seq2seq_small.py --workdir=runs/c2d \\
        --config.data.corpus=python_code_to_docstring
"""

import ml_collections

from tfllm.bin import defaults


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
    config.optimizer = defaults.optimizer(beta_2=0.98)
    config.schedule = defaults.schedule(peak_learning_rate=3e-3, warmup_steps=2)
    config.training = defaults.training(
        steps=6, batch_size=4, log_every=1, eval_steps=2, checkpoint_every_steps=3,
        sample_length=8, sample_prompt="hello", progress=True)
    config.evaluation = dict(mode="seq2seq", split="test", max_examples=0, max_new_tokens=16,
                             sampler="greedy", num_beams=4, length_penalty=0.6,
                             baseline="copy")
    return config
