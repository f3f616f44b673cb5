"""tfllm-evaluate: evaluate a trained workdir into <workdir>/eval/metrics.json and TensorBoard.

    tfllm-evaluate --workdir=runs/lm_small [--config=configs/lm_small.py]

The config defaults to <workdir>/config.json. config.evaluation.mode picks the
evaluation: "lm" (tfllm.evaluation.capability.evaluate: perplexity, token accuracy, bits
per byte and per character on config.evaluation.split; on a Python code corpus also the
share of unconditional samples and of held-out functions' continuations that parse, the
share of their lines that tokenize and the empty samples, config.evaluation.num_samples /
num_prompts / max_new_tokens of each; the samples go to <workdir>/eval/samples.json), "seq2seq"
(tfllm.evaluation.seq2seq.evaluate: BLEU and ROUGE-L of the test pairs decoded by each
of config.evaluation.samplers beside config.evaluation.baseline, and the teacher-forced
NLL with true and with shuffled sources), "classification" (accuracy, macro/micro
P/R/F1 and the confusion matrix of config.data.<split>_file, also as an image),
"preference_vector" (tfllm.evaluation.preference_vector.evaluate: the sentiment of
samples with the preference vector at each of config.evaluation.preference_values),
"phf" (tfllm.evaluation.phf.evaluate: misalignment scores of samples; KL from the MLE
model of config.evaluation.reference_workdir if set), "rl" (the held-out evaluation of
tfllm-rl-finetune's configs for any policy workdir, e.g. a DPO or ILQL run: mean reward of
config.evaluation.num_episodes episodes on the validation prompts, and KL to the reference
LM of config.evaluation.reference_workdir, default config.init_from) or "preference" (a
DPO / IPO workdir: the implicit reward's pairwise accuracy and margin on every pair of
config.data.test_file, against the same reference). TensorBoard gets the
metrics in the run <workdir>/tensorboard/eval, below the training run, so the hparams
dashboard shows them beside the run's hyperparameters. A reference workdir may be
preset:<name>, a trained preset (tfllm.models.presets).
"""

import os

import ml_collections
from absl import flags

from tfllm import experiment
from tfllm.bin import common

FLAGS = flags.FLAGS


def config_of(workdir):
    """--config if given, else the config saved by the training binary."""
    if FLAGS.config is not None:
        return FLAGS.config
    return ml_collections.ConfigDict(experiment.read_json(os.path.join(workdir, "config.json")))


def evaluate_classification(config, model, tokenizer, workdir):
    """tfllm.evaluation.classifier.evaluate_classifier on config.evaluation.split."""
    import tensorflow as tf

    from tfllm.evaluation.classifier import evaluate_classifier

    split = config.evaluation.get("split", "test")
    path = config.data.get(f"{split}_file", "")
    if not path:
        raise ValueError(f"classification evaluation needs config.data.{split}_file")
    names = list(config.data.get("label_names") or ())
    if len(names) != model.num_classes:
        raise ValueError(f"config.data.label_names has {len(names)} names for a "
                         f"{model.num_classes}-class model")
    writer = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard", "eval"))
    dataset = experiment.classification_dataset(config, tokenizer, path, drop_remainder=False)
    metrics = evaluate_classifier(model, dataset, names, writer=writer,
                                  step=common.checkpoint_step(workdir))
    writer.close()
    return metrics


def reference_model(config, tokenizer, mode):
    """The reference LM of config.evaluation.reference_workdir, else config.init_from."""
    workdir = experiment.resolve_workdir(config.evaluation.get("reference_workdir")
                                         or config.get("init_from"))
    if not workdir:
        raise ValueError(f"{mode} evaluation: set config.evaluation.reference_workdir (or "
                         "config.init_from) to the reference LM's workdir")
    reference = experiment.load_model(workdir)
    tokenizer.check_model(reference, workdir)
    return reference, workdir


def evaluate_rl(config, model, tokenizer):
    """tfllm-rl-finetune's held-out evaluation of `model` (a DecoderLM, or an ILQLModel
    decoding with its beta) against the reference LM, with the KL read from the sampler."""
    import functools

    from tfllm.rl import LMPolicy, tf_specs
    from tfllm.rl.evaluation import sampled_statistics

    reference, reference_workdir = reference_model(config, tokenizer, "rl")
    held_out = experiment.HeldOutEvaluation(config, tokenizer,
                                            experiment.reward_fn(config, tokenizer))
    policy = LMPolicy(model, *tf_specs(held_out.environment),
                      temperature=config.agent.temperature)
    metrics = held_out(policy, functools.partial(sampled_statistics, reference_model=reference))
    return {**metrics, "reference_workdir": reference_workdir}


def evaluate_preference(config, model, tokenizer):
    """The implicit reward's pairwise accuracy and margin (config.objective: DPO / IPO) on
    every pair of config.data.test_file, against the reference LM."""
    from tfllm.evaluation.preference_pairs import evaluate_pairs
    from tfllm.objectives import get_objective

    path = config.data.get("test_file", "")
    if not path:
        raise ValueError("preference evaluation needs config.data.test_file (held-out "
                         "{prompt, chosen, rejected} JSONL)")
    reference, reference_workdir = reference_model(config, tokenizer, "preference")
    objective = get_objective(config.objective.name, **dict(config.objective.options))
    objective.set_reference(reference)
    dataset = experiment.preference_dataset(config, tokenizer, path, train=False,
                                            drop_remainder=False)
    return {**evaluate_pairs(objective, model, dataset), "reference_workdir": reference_workdir}


def main(argv):
    config = config_of(FLAGS.workdir)
    common.setup(config)  # the training's seeds and dtype policy: the same shuffled batches
    model, tokenizer = experiment.load_model_and_tokenizer(FLAGS.workdir)
    mode = config.evaluation.get("mode", "lm")
    if mode == "lm":
        from tfllm.evaluation import capability

        metrics, samples = capability.evaluate(config, model, tokenizer)
        if samples:
            common.write_json(os.path.join(FLAGS.workdir, "eval", "samples.json"), samples)
    elif mode == "seq2seq":
        from tfllm.evaluation import seq2seq

        metrics = seq2seq.evaluate(config, model, tokenizer)
    elif mode == "preference_vector":
        from tfllm.evaluation import preference_vector

        metrics = preference_vector.evaluate(config, model, tokenizer)
    elif mode == "phf":
        from tfllm.evaluation import phf

        reference_workdir = experiment.resolve_workdir(
            config.evaluation.get("reference_workdir", ""))
        reference = experiment.load_model(reference_workdir) if reference_workdir else None
        metrics = phf.evaluate(config, model, tokenizer, FLAGS.workdir, reference=reference)
    elif mode == "classification":
        metrics = evaluate_classification(config, model, tokenizer, FLAGS.workdir)
    elif mode == "rl":
        metrics = evaluate_rl(config, model, tokenizer)
    elif mode == "preference":
        metrics = evaluate_preference(config, model, tokenizer)
    else:
        raise ValueError(f"config.evaluation.mode={mode!r}: expected 'lm', 'seq2seq', "
                         "'classification', 'phf', 'preference_vector', 'preference' "
                         "or 'rl'")
    out = os.path.join(FLAGS.workdir, "eval")
    common.write_json(os.path.join(out, "metrics.json"), metrics)
    if mode != "phf":  # phf.evaluate wrote its phf/* scalars there already
        from tfllm.training.summaries import Summaries

        summaries = Summaries(os.path.join(FLAGS.workdir, "tensorboard", "eval"))
        summaries.scalars(int(common.checkpoint_step(FLAGS.workdir)),
                          {f"eval/{k}": v for k, v in metrics.items()
                           if isinstance(v, (int, float)) and not isinstance(v, bool)})
        summaries.close()
    for key, value in sorted(metrics.items()):
        shown = f"{len(value)} values" if isinstance(value, (list, dict)) else value
        print(f"{key}: {shown}")
    print(f"wrote {os.path.join(out, 'metrics.json')}")


def run():
    common.define_flags(config="optional", strategy=False)
    common.run(main)


if __name__ == "__main__":
    run()
