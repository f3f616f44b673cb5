"""tfllm-train-reward: train a reward model (Bradley-Terry) on preference pairs.

    tfllm-train-reward --config=configs/reward_sentiment.py --workdir=runs/reward
        [--config.pairs.file=pairs.jsonl] [--config.init_from=runs/lm]

Pairs come from config.pairs.file (JSONL {prompt, chosen, rejected}; held-out pairs from
config.pairs.validation_file or the last validation_fraction of the file), or, without a
file, are sampled from the LM in config.pairs.sample_from (a workdir or preset:<name>)
and labelled by the scorer config.pairs.scorer (config.pairs.include_prompt: score
prompt + continuation). Pairs
whose rewards differ by config.pairs.min_margin or less are dropped (near-ties of a
continuous scorer), in a file too when its records carry chosen_reward/rejected_reward
(as the pairs files written here do). The model is a
RewardModel whose DecoderLM backbone starts from config.init_from (an LM workdir or
preset:<name>) or is built from config.model. Writes
<workdir>/reward_model.keras, <workdir>/tokenizer/ (together: `reward_model` scorer and
`tfllm.rl.rewards.reward_fn_from_workdir`), pairs_{train,validation}.jsonl and
eval/metrics.json with the held-out pairwise accuracy.
"""

import os

from absl import flags

from tfllm import experiment
from tfllm.bin import common

FLAGS = flags.FLAGS


def load_pairs(config, workdir):
    """(train records, validation records) from the pairs file or from scorer sampling."""
    from tfllm.rl import preferences

    pairs = config.pairs
    if pairs.file:
        records = preferences.read_pairs(pairs.file)
        if pairs.validation_file:
            held_out = preferences.read_pairs(pairs.validation_file)
        else:
            cut = len(records) - max(1, int(len(records) * pairs.validation_fraction))
            if cut < 1:
                raise ValueError(f"{pairs.file}: {len(records)} pairs cannot be split into "
                                 "training and validation pairs")
            records, held_out = records[:cut], records[cut:]
        out = []
        held_out_path = pairs.validation_file or pairs.file
        for path, split in ((pairs.file, records), (held_out_path, held_out)):
            kept = preferences.drop_near_ties(split, pairs.min_margin, where=path)
            if not kept:
                raise ValueError(f"{path}: no pair differs by more than "
                                 f"config.pairs.min_margin={pairs.min_margin}")
            out.append(kept)
        return out[0], out[1]
    if not (pairs.scorer and pairs.sample_from):
        raise ValueError("config.pairs: give a pairs file, or a scorer and sample_from (an "
                         "LM workdir)")
    from tfllm.feedback import get_scorer

    model, tokenizer = experiment.load_model_and_tokenizer(
        experiment.resolve_workdir(pairs.sample_from))
    scorer = get_scorer(pairs.scorer, **dict(pairs.scorer_options))
    out = []
    for split, count in (("train", pairs.num_prompts), ("validation", pairs.num_validation)):
        prompts = preferences.text_prompts(experiment.corpus_texts(config, split), tokenizer,
                                           pairs.prompt_tokens)
        prompts = (prompts * (count // max(len(prompts), 1) + 1))[:count]
        records = preferences.scorer_pairs(
            model, tokenizer, prompts, scorer.reward, pairs.max_new_tokens,
            seed=config.training.seed + (split == "validation") * 100003,
            top_k=pairs.top_k, temperature=pairs.temperature, min_margin=pairs.min_margin,
            include_prompt=pairs.get("include_prompt", False))
        if not records:
            raise ValueError(f"config.pairs: the scorer found no untied {split} pairs")
        out.append(records)
    return out[0], out[1]


def held_out_metrics(model, dataset):
    """Exact pairwise accuracy and mean reward margin over every held-out pair."""
    import numpy as np

    from tfllm.objectives.bradley_terry import pair_rewards

    margins = []
    for batch in dataset:
        chosen, rejected = pair_rewards(model, batch)
        margins.extend((np.asarray(chosen) - np.asarray(rejected)).tolist())
    margins = np.array(margins)
    return {"pairwise_accuracy": float((margins > 0).mean()),
            "reward_margin": float(margins.mean())}


def main(argv):
    config = FLAGS.config
    start = experiment.resolve_workdir(config.init_from)
    common.setup(config)
    strategy = common.make_strategy(config)
    workdir = FLAGS.workdir
    os.makedirs(workdir, exist_ok=True)
    from tfllm.data.prompts import make_preference_dataset
    from tfllm.models import RewardModel
    from tfllm.objectives import get_objective
    from tfllm.rl import preferences
    from tfllm.rl.rewards import REWARD_MODEL_FILE

    train_pairs, validation_pairs = load_pairs(config, workdir)
    preferences.write_pairs(os.path.join(workdir, "pairs_train.jsonl"), train_pairs)
    preferences.write_pairs(os.path.join(workdir, "pairs_validation.jsonl"), validation_pairs)
    tokenizer = experiment.tokenizer_for(config, workdir, init_workdir=start)
    length, batch = int(config.data.sequence_length), int(config.training.batch_size)
    train_data = make_preference_dataset(train_pairs, tokenizer, length, batch, repeat=True,
                                         drop_remainder=True, seed=config.training.seed)
    held_out = make_preference_dataset(validation_pairs, tokenizer, length, batch,
                                       shuffle=False)
    eval_data = make_preference_dataset(validation_pairs, tokenizer, length, batch,
                                        shuffle=False, drop_remainder=True) \
        if len(validation_pairs) >= batch else None

    def build():
        backbone = (experiment.load_model(start) if start
                    else experiment.build_model(config, tokenizer.vocabulary_size))
        tokenizer.check_model(backbone, start or workdir)
        return RewardModel(backbone)

    objective = get_objective(config.objective.name, **dict(config.objective.options))
    trainer = experiment.make_trainer(config, strategy, workdir, build, objective,
                                      train_data, eval_data)
    common.write_run_metadata(workdir, config, trainer.model)
    result = trainer.train()
    trainer.close()
    if trainer.chief:
        trainer.model.save(os.path.join(workdir, REWARD_MODEL_FILE))
        metrics = held_out_metrics(trainer.model, held_out)
        metrics.update(train_pairs=len(train_pairs), validation_pairs=len(validation_pairs),
                       step=int(result["step"]))
        os.makedirs(os.path.join(workdir, "eval"), exist_ok=True)
        common.write_json(os.path.join(workdir, "eval", "metrics.json"), metrics)
        print(f"held-out pairwise accuracy {metrics.get('pairwise_accuracy', float('nan')):.3f}"
              f" on {len(validation_pairs)} pairs; reward model in {workdir}")


def run():
    common.define_flags()
    common.run(main)


if __name__ == "__main__":
    run()
