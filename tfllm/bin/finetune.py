"""tfllm-finetune: supervised fine-tuning, by config.data.kind:

  "chat" (default): a DecoderLM on {"prompt", "response"} JSONL, loss on the response only.
  "seq2seq": a Seq2SeqTransformer on (source, target) pairs: TSV/JSONL files
      (config.data.train_file / test_file) or an embedded corpus (config.data.corpus).
  "preference": DPO / IPO (config.objective) of the --init_workdir policy on
      {"prompt", "chosen", "rejected"} JSONL; the reference is a frozen copy of it.
  "classification": a new EncoderClassifier (config.model) on text<TAB>label TSV or
      {"text", "label"} JSONL; classes: config.data.label_names, else the sorted labels.
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
    tfllm-finetune --config=configs/ilql_sentiment.py --workdir=runs/ilql_sentiment \
        --init_workdir=runs/rl_sentiment_lm

With --init_workdir (or config.init_from) the tokenizer and model (weights included)
come from that workdir; without it the tokenizer is trained on the training texts and the
model is new (config.model). --train_file/--eval_file override config.data.train_file/test_file.
Rerunning with the same --workdir resumes.
"""

import os
import shutil

from absl import flags

from tfllm.bin import common

FLAGS = flags.FLAGS
flags.DEFINE_string("init_workdir", None, "workdir to start from (tokenizer, model.json, "
                    "checkpoints); default: a new model and tokenizer")
flags.DEFINE_string("train_file", None, "training data (chat: prompt/response JSONL; "
                    "seq2seq: TSV or source/target JSONL; preference: prompt/chosen/"
                    "rejected JSONL; classification: text<TAB>label TSV or text/label JSONL)")
flags.DEFINE_string("eval_file", None, "evaluation data, same format")

KINDS = ("chat", "seq2seq", "preference", "classification", "corpus")


def init_workdir(config):
    """--init_workdir, else config.init_from ("" if neither)."""
    return FLAGS.init_workdir or config.get("init_from", "")


def data_file(config, split):
    """--train_file/--eval_file, else config.data.train_file/test_file ("" if none)."""
    flag = FLAGS.train_file if split == "train" else FLAGS.eval_file
    return flag or config.data.get("train_file" if split == "train" else "test_file", "")


def seq2seq_dataset(config, tokenizer, pairs, train):
    """Seq2seq batches padded to the fixed config.data lengths (one XLA compilation)."""
    import tensorflow as tf

    from tfllm.data.seq2seq import make_seq2seq_dataset

    data = config.data
    source, target = int(data.max_source_length), int(data.max_target_length)
    dataset = make_seq2seq_dataset(
        pairs, tokenizer, int(config.training.batch_size), max_source_length=source,
        max_target_length=target, seed=int(data.get("shuffle_seed", 0)), shuffle=train,
        repeat=train, drop_remainder=True)

    def pad(batch):
        out = {}
        for key, value in batch.items():
            length = source if key.startswith("encoder") else target
            fill = tokenizer.pad_id if value.dtype == tf.int32 else False
            value = tf.pad(value, [[0, 0], [0, length - tf.shape(value)[1]]],
                           constant_values=tf.cast(fill, value.dtype))
            out[key] = tf.ensure_shape(value, [config.training.batch_size, length])
        return out

    return dataset.map(pad)


def chat_dataset(config, tokenizer, path, train):
    """Prompt-masked LM batches of a {prompt, response} JSONL file."""
    from tfllm.data.prompts import make_chat_dataset

    return make_chat_dataset(path, tokenizer, int(config.data.sequence_length),
                             int(config.training.batch_size), shuffle=train, repeat=train,
                             seed=int(config.data.get("shuffle_seed", 0)),
                             drop_remainder=True)


def preference_dataset(config, tokenizer, path, train):
    """DPO batches (chosen_* / rejected_* keys) of a {prompt, chosen, rejected} JSONL file."""
    from tfllm.data.prompts import make_preference_dataset

    return make_preference_dataset(path, tokenizer, int(config.data.sequence_length),
                                   int(config.training.batch_size), shuffle=train,
                                   repeat=train, seed=int(config.data.get("shuffle_seed", 0)),
                                   drop_remainder=True)


def scored_documents(config, split):
    """The corpus documents of `split` (`common.corpus_documents`), scored by
    config.data.scorer when one is named (a list of ScoredText), else as they come."""
    documents = common.corpus_documents(config, split)
    name = config.data.get("scorer", "")
    if not name:
        return documents
    from tfllm.feedback import get_scorer

    texts = [getattr(d, "text", d) for d in getattr(documents, "documents", documents)]
    return get_scorer(name, **dict(config.data.get("scorer_options") or {})).score(texts)


def corpus_dataset(config, tokenizer, split, train):
    """Packed LM batches (with per-token "scores") of the scored corpus split: repeated
    and reshuffled for training; one fixed shuffled order for evaluation."""
    from tfllm.data.lm import make_lm_dataset

    return make_lm_dataset(scored_documents(config, split), tokenizer,
                           int(config.data.sequence_length), int(config.training.batch_size),
                           seed=int(config.data.get("shuffle_seed", 0)), shuffle=True,
                           repeat=train, reshuffle_each_iteration=train)


def jsonl_texts(path, fields):
    from tfllm.data import sources

    return [r[field] for r in sources.read_jsonl(path, fields) for field in fields]


def class_names(config, path):
    """config.data.label_names, else the sorted labels of the training file; stored back
    into config.data.label_names (config.json then numbers the classes for tfllm-evaluate)."""
    from tfllm.data.classification import read_examples

    names = tuple(config.data.get("label_names") or ()) or tuple(
        sorted({str(label) for _, label in read_examples(path)}))
    config.data.label_names = names
    return names


def tokenizer_for(config, workdir, texts):
    """The workdir's tokenizer; else --init_workdir's (copied); else trained on `texts()`."""
    from tfllm.tokenizers import Tokenizer

    path = os.path.join(workdir, "tokenizer")
    if not os.path.isdir(path) and init_workdir(config):
        shutil.copytree(os.path.join(init_workdir(config), "tokenizer"), path)
    if os.path.isdir(path):
        return Tokenizer.load(path)
    t = config.tokenizer
    tokenizer = Tokenizer.train(texts(), t.vocabulary_size, kind=t.kind,
                                control_tokens=tuple(t.get("control_tokens", ())),
                                **dict(t.get("options", {})))
    tokenizer.save(path)
    return tokenizer


def datasets(config, workdir):
    """(tokenizer, train batches, eval batches or None) for config.data.kind."""
    kind = config.data.get("kind", "chat")
    if kind not in KINDS:
        raise ValueError(f"config.data.kind={kind!r}: expected one of {KINDS}")
    if kind == "seq2seq":
        train = common.seq2seq_pairs(config, "train", data_file(config, "train"))
        test = common.seq2seq_pairs(config, "test", data_file(config, "test"))
        tokenizer = tokenizer_for(config, workdir, lambda: [x for pair in train for x in pair])
        return (tokenizer, seq2seq_dataset(config, tokenizer, train, True),
                seq2seq_dataset(config, tokenizer, test, False) if test else None)
    if kind == "corpus":
        if not init_workdir(config):
            raise ValueError("corpus fine-tuning needs --init_workdir (the LM to start "
                             "from, with its tokenizer)")
        tokenizer = tokenizer_for(config, workdir, list)
        return (tokenizer, corpus_dataset(config, tokenizer, "train", True),
                corpus_dataset(config, tokenizer, "validation", False))
    path = data_file(config, "train")
    if not path:
        raise ValueError(f"{kind} fine-tuning needs --train_file (or config.data.train_file)")
    eval_path = data_file(config, "test")
    if kind == "classification":
        from tfllm.data.classification import read_examples

        class_names(config, path)
        tokenizer = tokenizer_for(config, workdir,
                                  lambda: [text for text, _ in read_examples(path)])
        return (tokenizer, common.classification_dataset(config, tokenizer, path, True),
                common.classification_dataset(config, tokenizer, eval_path) if eval_path
                else None)
    if kind == "preference":
        if not init_workdir(config):
            raise ValueError("preference fine-tuning needs --init_workdir (the policy to "
                             "start from)")
        make, fields = preference_dataset, ("prompt", "chosen", "rejected")
    else:
        make, fields = chat_dataset, ("prompt", "response")
    tokenizer = tokenizer_for(config, workdir, lambda: jsonl_texts(path, fields))
    return (tokenizer, make(config, tokenizer, path, True),
            make(config, tokenizer, eval_path, False) if eval_path else None)


def wants_ilql(config):
    """config.model.kind == "ilql" (configs without a model section start from a workdir)."""
    return (config.get("model") or {}).get("kind") == "ilql"


def start_model(config, start):
    """The --init_workdir model; with config.model.kind="ilql" a DecoderLM gets ILQL
    heads (an ILQLModel, beta config.model.beta) and an ILQLModel is kept."""
    from tfllm.models import DecoderLM, ILQLModel

    model = common.load_model(start)
    if not wants_ilql(config) or isinstance(model, ILQLModel):
        return model
    if not isinstance(model, DecoderLM):
        raise ValueError(f"config.model.kind='ilql' needs a DecoderLM in --init_workdir "
                         f"{start}, not a {type(model).__name__}")
    return ILQLModel(model, beta=config.model.get("beta", 1.0))


def main(argv):
    config = FLAGS.config
    if wants_ilql(config) and not init_workdir(config):
        raise ValueError("config.model.kind='ilql' needs --init_workdir (the LM to add "
                         "the ILQL heads to)")
    common.setup(config)
    strategy = common.make_strategy(config)
    os.makedirs(FLAGS.workdir, exist_ok=True)
    for split, field in (("train", "train_file"), ("test", "test_file")):
        if field in config.data:  # config.json then names the data tfllm-evaluate reads
            config.data[field] = data_file(config, split)
    tokenizer, train_data, eval_data = datasets(config, FLAGS.workdir)

    from tfllm.objectives import get_objective

    start = init_workdir(config)

    def model():
        if start:
            return start_model(config, start)
        return common.build_model(config, tokenizer.vocabulary_size)

    objective = get_objective(config.objective.name, **dict(config.objective.options))
    if start and hasattr(objective, "set_reference"):  # DPO: the start point, also on resume
        objective.set_reference(common.load_model(start))
    common.train_and_report(config, strategy, FLAGS.workdir, tokenizer, model, objective,
                            train_data, eval_data, scorer=common.scorer_for(config))


def run():
    common.define_flags()
    common.run(main)


if __name__ == "__main__":
    run()
