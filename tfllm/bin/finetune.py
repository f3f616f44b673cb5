"""tfllm-finetune: supervised fine-tuning of a DecoderLM on prompt/response JSONL
(loss on the response only), starting from a pretrained workdir.

    tfllm-finetune --config=configs/lm_small.py --workdir=runs/sft \\
        --init_workdir=runs/lm_small --train_file=train.jsonl [--eval_file=valid.jsonl]

Each JSONL line is {"prompt": ..., "response": ...}; the tokenizer and model shape come
from --init_workdir. Rerunning with the same --workdir resumes.
"""

import os
import shutil

from absl import flags

from tfllm.bin import common

FLAGS = flags.FLAGS
flags.DEFINE_string("init_workdir", None, "pretrained workdir (tokenizer, model.json, "
                    "checkpoints)", required=True)
flags.DEFINE_string("train_file", None, "prompt/response JSONL", required=True)
flags.DEFINE_string("eval_file", None, "prompt/response JSONL for evaluation")


def main(argv):
    config = FLAGS.config
    common.setup(config)
    strategy = common.make_strategy(config)
    os.makedirs(FLAGS.workdir, exist_ok=True)
    common.write_json(os.path.join(FLAGS.workdir, "config.json"), config.to_dict())
    tokenizer_dir = os.path.join(FLAGS.workdir, "tokenizer")
    if not os.path.isdir(tokenizer_dir):
        shutil.copytree(os.path.join(FLAGS.init_workdir, "tokenizer"), tokenizer_dir)
    from tfllm.data.prompts import make_chat_dataset
    from tfllm.objectives import get_objective
    from tfllm.tokenizers import Tokenizer

    tokenizer = Tokenizer.load(tokenizer_dir)
    length, batch = int(config.data.sequence_length), int(config.training.batch_size)
    train_data = make_chat_dataset(FLAGS.train_file, tokenizer, length, batch, repeat=True,
                                   seed=config.data.get("shuffle_seed", 0),
                                   drop_remainder=True)
    eval_data = make_chat_dataset(FLAGS.eval_file, tokenizer, length, batch, shuffle=False,
                                  drop_remainder=True) if FLAGS.eval_file else None
    spec = common.read_json(os.path.join(FLAGS.init_workdir, common.MODEL_FILE))
    common.write_json(os.path.join(FLAGS.workdir, common.MODEL_FILE), spec)
    trainer = common.make_trainer(
        config, strategy, FLAGS.workdir, lambda: common.load_model(FLAGS.init_workdir),
        get_objective(config.objective.name, **dict(config.objective.options)),
        train_data, eval_data, sample=common.sample_fn(config, tokenizer))
    result = trainer.train()
    trainer.close()
    common.report(result, trainer, config, tokenizer, FLAGS.workdir)


def run():
    common.define_flags()
    common.run(main)


if __name__ == "__main__":
    run()
