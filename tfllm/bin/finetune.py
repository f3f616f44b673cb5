"""tfllm-finetune: supervised fine-tuning, by config.data.kind:

  "chat" (default): a DecoderLM on {"prompt", "response"} JSONL, loss on the response only.
  "seq2seq": a Seq2SeqTransformer on (source, target) pairs: TSV/JSONL files
      (config.data.train_file / test_file) or an embedded corpus (config.data.corpus);
      the teacher-forced evaluation reads the test pairs that tfllm-evaluate decodes
      (cut to config.evaluation.max_examples), none if they fill no batch.
  "preference": DPO / IPO (config.objective) of the --init_workdir policy on
      {"prompt", "chosen", "rejected"} JSONL; the reference is a frozen copy of it.
  "classification": a new EncoderClassifier (config.model) on text<TAB>label TSV or
      {"text", "label"} JSONL; classes: config.data.label_names, else the sorted labels;
      no evaluation during training if the eval file fills no batch.
  "scored_text": a new DecoderLM (config.model, preference_dim=1) on {"text", "score"}
      JSONL, one text per row, its score the model's preference vector
      (tfllm.data.scored_text; e.g. sentences and their sentiment, see
      configs/preference_vector_sentiment.py and tfllm-evaluate's preference_vector mode).
  "corpus": the --init_workdir LM on tfllm-pretrain's packed batches of config.data.corpus
      (or .files), every token carrying its segment's misalignment score; with
      config.data.scorer (and scorer_options) the documents are scored by that scorer
      (e.g. "sentiment" per sentence for the unscored python_docs_text). The data of
      offline RL from scored text: config.model.kind="ilql" adds ILQL heads to the LM
      (tfllm.models.ILQLModel, config.model.beta) for the "ilql" objective.

    tfllm-finetune --config=configs/lm_small.py --workdir=runs/sft \\
        --init_workdir=runs/lm_small --train_file=train.jsonl [--eval_file=valid.jsonl]
    tfllm-finetune --config=configs/seq2seq_small.py --workdir=runs/s2s \\
        --train_file=pairs.tsv [--eval_file=test.tsv]
    tfllm-finetune --config=configs/code_to_docstring.py --workdir=runs/c2d
    tfllm-finetune --config=configs/dpo_sentiment.py --workdir=runs/dpo \
        --init_workdir=runs/lm --train_file=pairs_train.jsonl [--eval_file=pairs_valid.jsonl]
    tfllm-finetune --config=configs/classifier_sentiment.py --workdir=runs/cls \
        --train_file=train.tsv [--eval_file=test.tsv]
    tfllm-finetune --config=configs/preference_vector_sentiment.py --workdir=runs/pv \
        --train_file=scored_sentences.jsonl
    tfllm-finetune --config=configs/ilql_sentiment.py --workdir=runs/ilql_sentiment \
        --init_workdir=runs/rl_sentiment_lm

With --init_workdir (or config.init_from; preset:<name> for a trained preset) the
tokenizer and model (weights included) come from that workdir; without it the tokenizer
is trained on the training texts and the model is new (config.model).
--train_file/--eval_file override config.data.train_file/test_file.
config.lora.rank > 0 trains LoRA adapters of the start model (docs/finetuning.md).
Rerunning with the same --workdir resumes.
"""

import os

from absl import flags

from tfllm import experiment
from tfllm.bin import common

FLAGS = flags.FLAGS
flags.DEFINE_string("init_workdir", None, "workdir to start from (tokenizer, model.json, "
                    "checkpoints) or preset:<name>; default: a new model and tokenizer")
flags.DEFINE_string("train_file", None, "training data (chat: prompt/response JSONL; "
                    "seq2seq: TSV or source/target JSONL; preference: prompt/chosen/"
                    "rejected JSONL; classification: text<TAB>label TSV or text/label JSONL; "
                    "scored_text: text/score JSONL)")
flags.DEFINE_string("eval_file", None, "evaluation data, same format")


def init_workdir(config):
    """--init_workdir, else config.init_from ("" if neither; preset:<name> resolved)."""
    return experiment.resolve_workdir(FLAGS.init_workdir or config.get("init_from", ""))


def data_file(config, split):
    """--train_file/--eval_file, else config.data.train_file/test_file ("" if none)."""
    flag = FLAGS.train_file if split == "train" else FLAGS.eval_file
    return flag or config.data.get("train_file" if split == "train" else "test_file", "")


def main(argv):
    config = FLAGS.config
    start = init_workdir(config)
    if experiment.wants_ilql(config) and not start:
        raise ValueError("config.model.kind='ilql' needs --init_workdir (the LM to add "
                         "the ILQL heads to)")
    lora = experiment.lora_settings(config, start)
    common.setup(config)
    strategy = common.make_strategy(config)
    os.makedirs(FLAGS.workdir, exist_ok=True)
    for split, field in (("train", "train_file"), ("test", "test_file")):
        if field in config.data:  # config.json then names the data tfllm-evaluate reads
            config.data[field] = data_file(config, split)
    tokenizer, train_data, eval_data = experiment.finetune_datasets(
        config, FLAGS.workdir, data_file(config, "train"), data_file(config, "test"), start)

    from tfllm.objectives import get_objective

    def model():
        if start:
            return experiment.with_lora(experiment.start_model(config, start), lora)
        return experiment.build_model(config, tokenizer.vocabulary_size)

    objective = get_objective(config.objective.name, **dict(config.objective.options))
    if start and hasattr(objective, "set_reference"):  # DPO: the start point, also on resume
        objective.set_reference(experiment.load_model(start))
    common.train_and_report(config, strategy, FLAGS.workdir, tokenizer, model, objective,
                            train_data, eval_data, scorer=experiment.scorer_for(config))


def run():
    common.define_flags()
    common.run(main)


if __name__ == "__main__":
    run()
