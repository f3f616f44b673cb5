"""tfllm-evaluate: evaluate a trained workdir; writes <workdir>/eval/metrics.json and TensorBoard.

    tfllm-evaluate --workdir=runs/lm_small [--config=configs/lm_small.py]

The config defaults to <workdir>/config.json. config.evaluation.mode picks the
evaluation: "lm" (perplexity and token accuracy on config.evaluation.split) or "phf"
(tfllm.evaluation.phf.evaluate: misalignment scores of samples).
"""

import os

import ml_collections
from absl import flags

from tfllm.bin import common

FLAGS = flags.FLAGS


def config_of(workdir):
    """--config if given, else the config saved by the training binary."""
    if FLAGS.config is not None:
        return FLAGS.config
    return ml_collections.ConfigDict(common.read_json(os.path.join(workdir, "config.json")))


def main(argv):
    config = config_of(FLAGS.workdir)
    from tfllm.tokenizers import Tokenizer

    tokenizer = Tokenizer.load(os.path.join(FLAGS.workdir, "tokenizer"))
    model = common.load_model(FLAGS.workdir)
    mode = config.evaluation.get("mode", "lm")
    if mode == "lm":
        from tfllm.evaluation.lm_metrics import evaluate_lm

        dataset = common.lm_dataset(config, tokenizer, config.evaluation.split, repeat=False)
        metrics = evaluate_lm(model, dataset, config.evaluation.get("batches", 0))
    elif mode == "phf":
        from tfllm.evaluation import phf

        metrics = phf.evaluate(config, model, tokenizer, FLAGS.workdir)
    else:
        raise ValueError(f"config.evaluation.mode={mode!r}: expected 'lm' or 'phf'")
    out = os.path.join(FLAGS.workdir, "eval")
    common.write_json(os.path.join(out, "metrics.json"), metrics)
    from tfllm.training.summaries import Summaries

    summaries = Summaries(out)
    step = int(common.checkpoint_step(FLAGS.workdir))
    summaries.scalars(step, {f"eval/{k}": v for k, v in metrics.items()
                             if isinstance(v, (int, float))})
    summaries.close()
    for key, value in sorted(metrics.items()):
        print(f"{key}: {value}")
    print(f"wrote {os.path.join(out, 'metrics.json')}")


def run():
    common.define_flags(config_required=False)
    common.run(main)


if __name__ == "__main__":
    run()
