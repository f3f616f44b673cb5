"""tfllm-finetune: supervised fine-tuning, by config.data.kind:

  "chat" (default): a DecoderLM on {"prompt", "response"} JSONL, loss on the response only.
  "seq2seq": a Seq2SeqTransformer on (source, target) pairs: TSV/JSONL files
      (config.data.train_file / test_file) or an embedded corpus (config.data.corpus).

    tfllm-finetune --config=configs/lm_small.py --workdir=runs/sft \\
        --init_workdir=runs/lm_small --train_file=train.jsonl [--eval_file=valid.jsonl]
    tfllm-finetune --config=configs/seq2seq_small.py --workdir=runs/s2s \\
        --train_file=pairs.tsv [--eval_file=test.tsv]
    tfllm-finetune --config=configs/code_to_docstring.py --workdir=runs/c2d

With --init_workdir the tokenizer and model (weights included) come from that workdir;
without it the tokenizer is trained on the training texts and the model is new
(config.model). --train_file/--eval_file override config.data.train_file/test_file.
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
                    "seq2seq: TSV or source/target JSONL)")
flags.DEFINE_string("eval_file", None, "evaluation data, same format")

KINDS = ("chat", "seq2seq")


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


def chat_texts(path):
    from tfllm.data import sources

    return [r[field] for r in sources.read_jsonl(path, ("prompt", "response"))
            for field in ("prompt", "response")]


def tokenizer_for(config, workdir, texts):
    """The workdir's tokenizer; else --init_workdir's (copied); else trained on `texts()`."""
    from tfllm.tokenizers import Tokenizer

    path = os.path.join(workdir, "tokenizer")
    if not os.path.isdir(path) and FLAGS.init_workdir:
        shutil.copytree(os.path.join(FLAGS.init_workdir, "tokenizer"), path)
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
    path = data_file(config, "train")
    if not path:
        raise ValueError("chat fine-tuning needs --train_file (prompt/response JSONL)")
    tokenizer = tokenizer_for(config, workdir, lambda: chat_texts(path))
    eval_path = data_file(config, "test")
    return (tokenizer, chat_dataset(config, tokenizer, path, True),
            chat_dataset(config, tokenizer, eval_path, False) if eval_path else None)


def main(argv):
    config = FLAGS.config
    common.setup(config)
    strategy = common.make_strategy(config)
    os.makedirs(FLAGS.workdir, exist_ok=True)
    for split, field in (("train", "train_file"), ("test", "test_file")):
        if field in config.data:  # config.json then names the data tfllm-evaluate reads
            config.data[field] = data_file(config, split)
    common.write_json(os.path.join(FLAGS.workdir, "config.json"), config.to_dict())
    tokenizer, train_data, eval_data = datasets(config, FLAGS.workdir)

    from tfllm.objectives import get_objective

    def model():
        if FLAGS.init_workdir:
            return common.load_model(FLAGS.init_workdir)
        return common.build_model(config, tokenizer.vocabulary_size)

    trainer = common.make_trainer(
        config, strategy, FLAGS.workdir, model,
        get_objective(config.objective.name, **dict(config.objective.options)),
        train_data, eval_data, sample=common.sample_fn(config, tokenizer))
    common.save_model_config(FLAGS.workdir, trainer.model)
    result = trainer.train()
    trainer.close()
    common.report(result, trainer, config, tokenizer, FLAGS.workdir)


def run():
    common.define_flags()
    common.run(main)


if __name__ == "__main__":
    run()
