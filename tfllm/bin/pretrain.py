"""tfllm-pretrain: train a language model from scratch on a corpus.

    tfllm-pretrain --config=configs/lm_small.py --workdir=runs/lm_small [--strategy=mirrored]
        [--config.training.steps=100 ...]

Rerunning the same command with the same --workdir resumes from the newest checkpoint.
With config.init_from (a workdir, or preset:<name> for a trained preset) training starts
from that run's tokenizer and weights instead of a new model: continued pretraining, e.g.
MLE then conditional training; config.lora.rank > 0 trains LoRA adapters of it instead
(docs/finetuning.md).
"""

import os

from absl import flags

from tfllm import experiment
from tfllm.bin import common

FLAGS = flags.FLAGS


def main(argv):
    config = FLAGS.config
    start = experiment.resolve_workdir(config.get("init_from", ""))
    lora = experiment.lora_settings(config, start)
    common.setup(config)
    strategy = common.make_strategy(config)
    os.makedirs(FLAGS.workdir, exist_ok=True)
    tokenizer = experiment.tokenizer_for(config, FLAGS.workdir, init_workdir=start)
    train_data = experiment.lm_dataset(config, tokenizer, "train", repeat=True)
    eval_data = experiment.lm_dataset(config, tokenizer, "validation", repeat=False)

    from tfllm.objectives import get_objective

    objective = get_objective(config.objective.name, **dict(config.objective.options))
    def model():
        if start:
            return experiment.with_lora(experiment.load_model(start), lora)
        return experiment.build_model(config, tokenizer.vocabulary_size)

    common.train_and_report(config, strategy, FLAGS.workdir, tokenizer, model, objective,
                            train_data, eval_data, scorer=experiment.scorer_for(config))


def run():
    common.define_flags()
    common.run(main)


if __name__ == "__main__":
    run()
