"""tfllm-pretrain: train a language model from scratch on a corpus.

    tfllm-pretrain --config=configs/lm_small.py --workdir=runs/lm_small [--strategy=mirrored]
        [--config.training.steps=100 ...]

Rerunning the same command with the same --workdir resumes from the newest checkpoint.
"""

import os

from absl import flags

from tfllm import experiment
from tfllm.bin import common

FLAGS = flags.FLAGS


def main(argv):
    config = FLAGS.config
    common.setup(config)
    strategy = common.make_strategy(config)
    os.makedirs(FLAGS.workdir, exist_ok=True)
    tokenizer = experiment.tokenizer_for(config, FLAGS.workdir)
    train_data = experiment.lm_dataset(config, tokenizer, "train", repeat=True)
    eval_data = experiment.lm_dataset(config, tokenizer, "validation", repeat=False)

    from tfllm.objectives import get_objective

    objective = get_objective(config.objective.name, **dict(config.objective.options))
    common.train_and_report(
        config, strategy, FLAGS.workdir, tokenizer,
        lambda: experiment.build_model(config, tokenizer.vocabulary_size), objective,
        train_data, eval_data, scorer=experiment.scorer_for(config))


def run():
    common.define_flags()
    common.run(main)


if __name__ == "__main__":
    run()
