"""RL / preference experiments: rollout speed, PPO on sentiment and PEP8, reward model, DPO.

    .venv/bin/python tools/rl_experiments.py --step=bench      # rollout tokens/s
    .venv/bin/python tools/rl_experiments.py --step=sentiment  # PPO toward positive VADER
    .venv/bin/python tools/rl_experiments.py --step=reward     # reward model on scorer pairs
    .venv/bin/python tools/rl_experiments.py --step=dpo        # DPO on the same pairs
    .venv/bin/python tools/rl_experiments.py --step=pep8       # PPO on the pycodestyle reward
    .venv/bin/python tools/rl_experiments.py --step=report     # docs/results/rl.md + rl.png

Prerequisite: the LM of configs/rl_sentiment_lm.py in runs/rl_sentiment_lm (tfllm-pretrain).
Each step merges its results into docs/results/rl.json under its own key.
"""

import json
import os
import subprocess
import sys
import time

from absl import app, flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "docs", "results", "rl.json")
FLAGS = flags.FLAGS
flags.DEFINE_enum("step", None, ["bench", "sentiment", "reward", "dpo", "pep8", "report"],
                  "which experiment", required=True)
flags.DEFINE_string("runs", os.path.join(REPO, "runs"), "folder of the run workdirs")
flags.DEFINE_string("lm", "rl_sentiment_lm", "LM workdir (under --runs) for sentiment/reward")
flags.DEFINE_string("pep8_lm", "", "LM workdir for the PEP8 experiment (default: the PHF "
                    "MLE model runs/phf_compare/mle if it exists)")
flags.DEFINE_string("tag", "", "suffix of the workdir and results key (a second run)")
flags.DEFINE_list("overrides", [], "extra --config.x=y flags for the binary of the step")


def merge(key, value):
    results = {}
    if os.path.isfile(RESULTS):
        with open(RESULTS, encoding="utf-8") as f:
            results = json.load(f)
    results[key] = value
    with open(RESULTS, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")


def run_binary(module, config, workdir, *overrides):
    command = [sys.executable, "-m", module, f"--config={config}", f"--workdir={workdir}",
               *overrides, *[f"--config.{o}" for o in FLAGS.overrides]]
    print(" ".join(command), flush=True)
    began = time.time()
    subprocess.run(command, cwd=REPO, check=True)
    return command, time.time() - began


def bench():
    """Rollout tokens/s: CachedSamplingDriver vs DynamicEpisodeDriver (per-token forward)."""
    import numpy as np
    from tf_agents.drivers import dynamic_episode_driver
    from tf_agents.environments import batched_py_environment, tf_py_environment

    from tfllm.bin import common
    from tfllm.rl import CachedSamplingDriver, LMPolicy, TokenEnvironment, tf_specs

    model = common.load_model(os.path.join(FLAGS.runs, FLAGS.lm))
    batch, new = 16, 32
    prompts = [[1, 84, 104, 101, 32]]  # <bos> "The "

    def env(seed=0):
        # no EOS: every episode has exactly `new` actions, so both drivers do equal work
        return TokenEnvironment(prompts, model.vocabulary_size, new,
                                lambda p, r: [0.0] * len(r), eos_id=None, seed=seed)

    policy = LMPolicy(model, *tf_specs(env()))
    cached = CachedSamplingDriver(env(), policy, (), num_episodes=batch)
    tf_env = tf_py_environment.TFPyEnvironment(
        batched_py_environment.BatchedPyEnvironment([env(i) for i in range(batch)]))
    per_token = dynamic_episode_driver.DynamicEpisodeDriver(tf_env, policy, (),
                                                            num_episodes=batch)
    out = {"batch": batch, "new_tokens": new, "model": model.get_config()["hidden_dim"]}
    for name, run in (("cached", cached.run), ("per_token", per_token.run)):
        run()  # compile
        times = []
        for _ in range(3):
            began = time.time()
            run()
            times.append(time.time() - began)
        out[f"{name}_tokens_per_s"] = batch * new / float(np.median(times))
    out["speedup"] = out["cached_tokens_per_s"] / out["per_token_tokens_per_s"]
    out["command"] = "tools/rl_experiments.py --step=bench"
    print(out)
    merge("rollout_bench", out)


def rl_result(workdir, command, seconds):
    with open(os.path.join(workdir, "eval", "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    with open(os.path.join(workdir, "history.jsonl"), encoding="utf-8") as f:
        history = [json.loads(line) for line in f if line.strip()]
    initial, final = metrics["initial"], metrics["final"]
    gain = final["mean_reward"] - initial["mean_reward"]
    return {"command": " ".join(command[1:]), "seconds": seconds,
            "iterations": metrics["iterations"],
            "initial": {k: initial[k] for k in ("mean_reward", "reward_std", "kl_to_reference")},
            "final": {k: final[k] for k in ("mean_reward", "reward_std", "kl_to_reference")},
            "gain_in_initial_std": gain / max(initial["reward_std"], 1e-9),
            "final_samples": final["samples"][:4], "history": history}


def sentiment():
    workdir = os.path.join(FLAGS.runs, "rl_sentiment" + FLAGS.tag)
    command, seconds = run_binary("tfllm.bin.rl_finetune", "configs/rl_sentiment.py", workdir,
                                  f"--config.init_from={os.path.join(FLAGS.runs, FLAGS.lm)}")
    result = rl_result(workdir, command, seconds)
    result["target_met"] = result["gain_in_initial_std"] >= 2 and \
        result["final"]["kl_to_reference"] <= 10
    result["overrides"] = FLAGS.overrides
    merge("ppo_sentiment" + FLAGS.tag, result)


def pep8():
    lm = FLAGS.pep8_lm or os.path.join(FLAGS.runs, "phf_compare", "mle")
    workdir = os.path.join(FLAGS.runs, "rl_pep8")
    command, seconds = run_binary("tfllm.bin.rl_finetune", "configs/rl_pep8.py", workdir,
                                  f"--config.init_from={lm}")
    result = rl_result(workdir, command, seconds)
    result["init_from"] = lm
    # reward = -(pycodestyle violations per character) of prompt + continuation
    result["violations_per_char"] = {"initial": -result["initial"]["mean_reward"],
                                     "final": -result["final"]["mean_reward"]}
    phf = os.path.join(REPO, "docs", "results", "phf_pep8.json")
    if os.path.isfile(phf):
        with open(phf, encoding="utf-8") as f:
            result["phf_results"] = json.load(f)
    merge("ppo_pep8", result)


def reward():
    workdir = os.path.join(FLAGS.runs, "reward_sentiment")
    lm = os.path.join(FLAGS.runs, FLAGS.lm)
    command, seconds = run_binary("tfllm.bin.train_reward", "configs/reward_sentiment.py",
                                  workdir, f"--config.init_from={lm}",
                                  f"--config.pairs.sample_from={lm}")
    with open(os.path.join(workdir, "eval", "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    metrics.update(command=" ".join(command[1:]), seconds=seconds,
                   target_met=metrics["pairwise_accuracy"] >= 0.9)
    merge("reward_model", metrics)


def dpo():
    """DPO through the Trainer on the reward step's pairs; held-out implicit-reward accuracy."""
    from tfllm.bin import common
    from tfllm.data.prompts import make_preference_dataset
    from tfllm.objectives import get_objective
    from tfllm.rl.preferences import read_pairs
    import tensorflow as tf

    from tfllm.tokenizers import Tokenizer

    sys.path.insert(0, os.path.join(REPO, "configs"))
    import dpo_sentiment  # pylint: disable=import-outside-toplevel

    config = dpo_sentiment.get_config()
    for override in FLAGS.overrides:
        key, value = override.split("=", 1)
        *parents, field = key.split(".")
        node = config
        for parent in parents:
            node = node[parent]
        node[field] = type(node[field])(value)
    pairs_dir = os.path.join(FLAGS.runs, "reward_sentiment")
    lm = os.path.join(FLAGS.runs, FLAGS.lm)
    workdir = os.path.join(FLAGS.runs, f"dpo_sentiment_{config.objective.options['loss_type']}")
    common.setup(config)
    tokenizer = Tokenizer.load(os.path.join(lm, "tokenizer"))
    train_pairs = read_pairs(os.path.join(pairs_dir, "pairs_train.jsonl"))
    held_out = read_pairs(os.path.join(pairs_dir, "pairs_validation.jsonl"))
    length, batch = config.data.sequence_length, config.training.batch_size
    train = make_preference_dataset(train_pairs, tokenizer, length, batch, repeat=True,
                                    drop_remainder=True)
    objective = get_objective(config.objective.name, **dict(config.objective.options))
    # the default strategy: restoring the LM under a OneDeviceStrategy scope fails here
    trainer = common.make_trainer(config, tf.distribute.get_strategy(), workdir,
                                  common.load_model(lm), objective, train)
    began = time.time()
    trainer.train()
    seconds = time.time() - began
    margins = []
    for pairs_batch in make_preference_dataset(held_out, tokenizer, length, batch,
                                               shuffle=False):
        _, metrics = objective(trainer.model, pairs_batch, training=False)
        margins.append((float(metrics["pairwise_accuracy"]), float(metrics["reward_margin"]),
                        int(pairs_batch["chosen_token_ids"].shape[0])))
    trainer.close()
    n = sum(m[2] for m in margins)
    result = {"pairwise_accuracy": sum(a * k for a, _, k in margins) / n,
              "reward_margin": sum(r * k for _, r, k in margins) / n,
              "validation_pairs": n, "train_pairs": len(train_pairs),
              "steps": config.training.steps, "seconds": seconds,
              "objective": dict(config.objective.options),
              "command": "tools/rl_experiments.py --step=dpo"}
    result["target_met"] = result["pairwise_accuracy"] >= 0.9
    print(result)
    merge(f"dpo_{config.objective.options['loss_type']}", result)


def report():
    """docs/results/rl.md and rl.png from rl.json."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(RESULTS, encoding="utf-8") as f:
        results = json.load(f)
    runs = sorted(k for k in results if k.startswith("ppo_"))
    fig, axes = plt.subplots(2, max(len(runs), 1), figsize=(6 * max(len(runs), 1), 7),
                             squeeze=False)
    for column, key in enumerate(runs):
        history = results[key]["history"]
        steps = [h["iteration"] for h in history]
        axes[0][column].plot(steps, [h["mean_reward"] for h in history])
        axes[0][column].set_title(f"{key}: mean reward (training batches)")
        axes[1][column].plot(steps, [h["kl_to_reference"] for h in history], label="KL to ref")
        axes[1][column].plot(steps, [h["entropy"] for h in history], label="entropy")
        axes[1][column].set_xlabel("iteration")
        axes[1][column].legend()
    fig.tight_layout()
    fig.savefig(os.path.join(REPO, "docs", "results", "rl.png"), dpi=80)
    lines = ["# RL and preference-learning results", "",
             "Generated by `tools/rl_experiments.py --step=report` from `rl.json` "
             "(commands and full histories there). CPU-only, a machine shared by 8 "
             "engineers: budgets are minutes.", ""]
    for key in ["rollout_bench"] + runs + ["reward_model", "dpo_sigmoid", "dpo_ipo"]:
        if key not in results:
            lines += [f"## {key}", "", "not run.", ""]
            continue
        value = {k: v for k, v in results[key].items()
                 if k not in ("history", "phf_results", "final_samples")}
        lines += [f"## {key}", "", "```json", json.dumps(value, indent=2, sort_keys=True),
                  "```", ""]
        if "final_samples" in results[key]:
            lines += ["Samples after training:", ""]
            lines += [f"- `{s!r}`" for s in results[key]["final_samples"]] + [""]
    lines += ["## Notes", ""] + [f"- {note}" for note in results.get("notes", [])] + [""]
    lines.append("![curves](rl.png)")
    with open(os.path.join(REPO, "docs", "results", "rl.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main(argv):
    del argv
    {"bench": bench, "sentiment": sentiment, "reward": reward, "dpo": dpo, "pep8": pep8,
     "report": report}[FLAGS.step]()


if __name__ == "__main__":
    app.run(main)
