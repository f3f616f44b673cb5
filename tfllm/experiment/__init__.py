"""tfllm.experiment: a config and a workdir -> corpus, tokenizer, datasets, model, trainer.

The builders every binary (tfllm.bin) and tool shares; the binaries add flags, errors
and the workdir's metadata. One job per module:

    corpus     corpus_texts, corpus_documents, scored_documents, seq2seq_pairs
    tokenizer  tokenizer_for: the workdir's tokenizer, trained (or copied) once
    datasets   lm_dataset, lm_evaluation_dataset, corpus_dataset, classification_dataset,
               seq2seq_dataset, seq2seq_eval_pairs, chat_dataset, preference_dataset,
               scored_text_dataset, finetune_datasets (by data.kind)
    model      build_model, model_from_json, load_model, load_model_and_tokenizer,
               start_model, lora_settings, with_lora
    presets    resolve_workdir (`preset:<name>` -> its folder), export_preset
    trainer    check_training, make_trainer, sample_fn, scorer_for
    rl         reward_fn, environment, HeldOutEvaluation
"""

from tfllm.experiment.corpus import (corpus_documents, corpus_texts, scored_documents,
                                     seq2seq_pairs)
from tfllm.experiment.datasets import (FINETUNE_KINDS, chat_dataset, class_names,
                                       classification_dataset, corpus_dataset,
                                       finetune_datasets, lm_dataset,
                                       lm_evaluation_dataset, preference_dataset,
                                       scored_text_dataset, seq2seq_dataset,
                                       seq2seq_eval_pairs)
from tfllm.experiment.model import (MODEL_FILE, build_model, load_model,
                                    load_model_and_tokenizer, lora_settings,
                                    model_from_json, read_json, start_model, wants_ilql,
                                    with_lora)
from tfllm.experiment.presets import PRESET_PREFIX, export_preset, resolve_workdir
from tfllm.experiment.rl import HeldOutEvaluation, environment, reward_fn
from tfllm.experiment.tokenizer import TOKENIZER_DIR, tokenizer_for
from tfllm.experiment.trainer import (check_training, flat_config, make_trainer, sample_fn,
                                      scorer_for)

__all__ = [
    "FINETUNE_KINDS", "HeldOutEvaluation", "MODEL_FILE", "PRESET_PREFIX", "TOKENIZER_DIR",
    "build_model", "chat_dataset", "check_training", "class_names", "classification_dataset",
    "corpus_dataset", "corpus_documents", "corpus_texts", "environment", "export_preset",
    "finetune_datasets", "flat_config", "lm_dataset", "lm_evaluation_dataset", "load_model",
    "load_model_and_tokenizer", "lora_settings", "make_trainer", "model_from_json", "preference_dataset",
    "read_json", "resolve_workdir", "reward_fn", "sample_fn", "scored_documents",
    "scored_text_dataset", "scorer_for", "seq2seq_dataset", "seq2seq_eval_pairs",
    "seq2seq_pairs", "start_model", "tokenizer_for", "wants_ilql", "with_lora",
]
