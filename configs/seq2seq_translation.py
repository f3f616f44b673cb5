"""Seq2seq translation on user TSV pairs (source<TAB>target per line; extra columns dropped).

    .venv/bin/python tools/app_experiments.py --config=configs/seq2seq_translation.py \
        --workdir=runs/translation --config.data.train_file=train.tsv \
        --config.data.test_file=test.tsv

which runs `tfllm-finetune --config=configs/seq2seq_translation.py --workdir=runs/translation
--train_file=train.tsv --eval_file=test.tsv` and `tfllm-evaluate --workdir=runs/translation`
(BLEU / ROUGE-L of greedy and beam decoding beside the copy baseline).
"""

import ml_collections

from tfllm.bin import defaults


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
    config.optimizer = defaults.optimizer(beta_2=0.98)
    config.schedule = defaults.schedule(warmup_steps=40)
    config.training = defaults.training(
        steps=400, log_every=20, eval_steps=4, checkpoint_every_steps=200)
    config.evaluation = dict(mode="seq2seq", split="test", max_examples=0, max_new_tokens=24,
                             samplers=("greedy", "beam"), num_beams=4, length_penalty=0.6,
                             baseline="copy")
    return config
