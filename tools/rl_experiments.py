"""RL / preference experiments: rollout speed, PPO on sentiment and PEP8, reward model, DPO.

    .venv/bin/python tools/rl_experiments.py --step=bench      # rollout tokens/s
    .venv/bin/python tools/rl_experiments.py --step=sentiment  # PPO toward positive VADER
    .venv/bin/python tools/rl_experiments.py --step=reward     # reward model on scorer pairs
    .venv/bin/python tools/rl_experiments.py --step=dpo        # DPO on the same pairs
    .venv/bin/python tools/rl_experiments.py --step=pep8       # PPO on the pycodestyle reward
    .venv/bin/python tools/rl_experiments.py --step=pep8_compare  # re-read the PHF metrics
    .venv/bin/python tools/rl_experiments.py --step=compare    # every method on sentiment
    .venv/bin/python tools/rl_experiments.py --step=held_out   # re-measure older compare runs
    .venv/bin/python tools/rl_experiments.py --step=report     # docs/results/rl.md + rl.png

Prerequisite: the LM of configs/rl_sentiment_lm.py in <runs>/<lm> (tfllm-pretrain), and for
--step=pep8 the PHF workdirs <phf>/mle and <phf>/conditional (tfllm-pretrain and
tfllm-evaluate with configs/phf_pep8.py). Each step merges its results into
docs/results/rl.json under its own key (+ --tag), with the command that made them.
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
flags.DEFINE_enum("step", None, ["bench", "sentiment", "reward", "dpo", "pep8",
                                 "pep8_compare", "compare", "held_out", "report"],
                  "which experiment", required=True)
flags.DEFINE_string("runs", os.path.join(REPO, "runs"), "folder of the run workdirs")
flags.DEFINE_string("lm", "rl_sentiment_lm", "LM workdir (under --runs) for sentiment/reward")
flags.DEFINE_string("phf", os.path.join(REPO, "runs", "phf_v2"),
                    "folder of the PHF workdirs (mle: PPO's start and KL reference; "
                    "conditional: the comparison); read only")
flags.DEFINE_string("pairs", "reward_sentiment", "reward-step workdir (under --runs) whose "
                    "pairs_{train,validation}.jsonl the dpo step (and the reward step with "
                    "--reward_backbone=encoder) uses")
flags.DEFINE_enum("reward_backbone", "lm", ["lm", "encoder"],
                  "reward step: lm = the sentiment LM as backbone, its pairs sampled here; "
                  "encoder = configs/reward_sentiment.py:encoder on the --pairs pairs")
flags.DEFINE_list("phf_eval_overrides", ["evaluation.num_samples=128"],
                  "pep8 step: --config.x=y of the PHF evaluation of the PPO model, to match "
                  "the PHF runs' own evaluation (tools/phf_compare.py --num_samples=128)")
flags.DEFINE_float("min_margin", 0.0, "dpo step: drop pairs whose scorer rewards differ by "
                   "this or less (tfllm.rl.preferences.drop_near_ties)")
flags.DEFINE_string("tag", "", "suffix of the workdir and results key (a second run)")
flags.DEFINE_list("overrides", [], "extra --config.x=y flags for the binary of the step")
# The method comparison, fixed before its runs: configs/rl_sentiment.py as it is (PPO's
# tuned settings: lr 1e-4, kl_coef 0.2, whitened rewards, 4 epochs where a method has
# epochs, 90 iterations of 64 episodes of up to 64 tokens), only the agent differs.
COMPARED = {
    "ppo": [],
    "reinforce": ["agent.name=reinforce"],
    "grpo": ["agent.name=grpo", "agent.group_size=8"],
    "rloo": ["agent.name=rloo", "agent.group_size=8"],
    "q": ["agent.name=q"],
}
# Offline methods of the comparison, fixed before their runs (29 Nov): DPO on pairs sampled
# from the LM with the online methods' budget (2 x 2880 = 5760 episodes of up to 64 tokens,
# VADER-labelled, exact ties dropped; configs/dpo_sentiment.py as it is: 300 steps, beta
# 0.1), and ILQL on the docs corpus scored by VADER (configs/ilql_sentiment.py as it is:
# 600 steps x 32 x 128 tokens, no sampling). Both are measured by tfllm-evaluate's rl mode.
OFFLINE = ("dpo", "ilql")
DPO_PROMPTS = 2880
flags.DEFINE_list("methods", list(COMPARED), "compare step: the methods to run (also "
                  f"{', '.join(OFFLINE)})")


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

    from tfllm import experiment
    from tfllm.rl import CachedSamplingDriver, LMPolicy, TokenEnvironment, tf_specs

    model = experiment.load_model(os.path.join(FLAGS.runs, FLAGS.lm))
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


HELD_OUT_KEYS = ("mean_reward", "reward_std", "kl_to_reference", "response_length")


def rl_result(workdir, command, seconds):
    with open(os.path.join(workdir, "eval", "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    with open(os.path.join(workdir, "history.jsonl"), encoding="utf-8") as f:
        history = [json.loads(line) for line in f if line.strip()]
    initial, final = metrics["initial"], metrics["final"]
    gain = final["mean_reward"] - initial["mean_reward"]
    return {"command": " ".join(command[1:]), "seconds": seconds,
            "iterations": metrics["iterations"],
            "initial": {k: initial[k] for k in HELD_OUT_KEYS},
            "final": {k: final[k] for k in HELD_OUT_KEYS},
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


def held_out(workdir, lm):
    """tfllm-evaluate's rl mode (configs/rl_sentiment.py: the compare runs' held-out prompts,
    seed and episode count) on a copy of `workdir` (the evaluation writes its eval/):
    mean reward, its std and KL to the LM `lm`."""
    import shutil

    evaldir = workdir + "_held_out"
    shutil.rmtree(evaldir, ignore_errors=True)
    shutil.copytree(workdir, evaldir, ignore=shutil.ignore_patterns("eval", "policy",
                                                                    "tensorboard"))
    command, _ = run_binary("tfllm.bin.evaluate", "configs/rl_sentiment.py", evaldir,
                            f"--config.init_from={lm}")
    metrics = read_json(os.path.join(evaldir, "eval", "metrics.json"))
    return {"command": " ".join(command[1:]), "samples": metrics["samples"][:4],
            **{k: metrics[k] for k in HELD_OUT_KEYS}}


def offline_method(method, lm):
    """DPO or ILQL (OFFLINE) trained with tfllm-finetune from the LM, then `held_out`."""
    workdir = os.path.join(FLAGS.runs, "rl_compare", method + FLAGS.tag)
    commands, seconds, episodes = [], 0.0, 0
    if method == "dpo":
        pairs = os.path.join(FLAGS.runs, "rl_compare", "dpo_pairs" + FLAGS.tag)
        command, took = run_binary(
            "tfllm.bin.train_reward", "configs/reward_sentiment.py", pairs,
            f"--config.init_from={lm}", f"--config.pairs.sample_from={lm}",
            f"--config.pairs.num_prompts={DPO_PROMPTS}", "--config.pairs.num_validation=64",
            "--config.training.steps=1", "--config.schedule.warmup_steps=0")
        commands.append(command)
        seconds += took
        episodes = 2 * DPO_PROMPTS
        data = [f"--train_file={pairs}/pairs_train.jsonl"]  # measured by held_out
        with open(os.path.join(pairs, "pairs_train.jsonl"), encoding="utf-8") as f:
            train_pairs = sum(1 for line in f if line.strip())
    else:
        data, train_pairs = [], None
    command, took = run_binary("tfllm.bin.finetune", f"configs/{method}_sentiment.py", workdir,
                               f"--init_workdir={lm}", *data)
    commands.append(command)
    initial = held_out(lm, lm)
    final = held_out(workdir, lm)
    config = read_json(os.path.join(workdir, "config.json"))
    t = config["training"]
    return {"method": method + FLAGS.tag, "offline": True,
            "commands": [" ".join(c[1:]) for c in commands], "seconds": seconds + took,
            "iterations": t["steps"], "episodes": episodes, "train_pairs": train_pairs,
            "training_tokens": t["steps"] * t["batch_size"] * config["data"]["sequence_length"],
            "initial": initial, "final": final, "history": [],
            "gain_in_initial_std": (final["mean_reward"] - initial["mean_reward"])
            / max(initial["reward_std"], 1e-9),
            "overrides": FLAGS.overrides, "final_samples": final["samples"]}


def compare():
    """Each method of COMPARED from the same LM on the same prompts and budget; OFFLINE
    methods from the same LM, measured on the same prompts."""
    lm = os.path.join(FLAGS.runs, FLAGS.lm)
    for method in FLAGS.methods:
        if method in OFFLINE:
            result = offline_method(method, lm)
            result["target_met"] = result["gain_in_initial_std"] >= 2 and \
                result["final"]["kl_to_reference"] <= 10
            merge(f"compare_{method}{FLAGS.tag}", result)
            continue
        workdir = os.path.join(FLAGS.runs, "rl_compare", method + FLAGS.tag)
        command, seconds = run_binary(
            "tfllm.bin.rl_finetune", "configs/rl_sentiment.py", workdir,
            f"--config.init_from={lm}", *[f"--config.{o}" for o in COMPARED[method]])
        result = rl_result(workdir, command, seconds)
        result["method"] = method + FLAGS.tag
        config = read_json(os.path.join(workdir, "config.json"))
        result["episodes"] = result["iterations"] * config["driver"]["num_episodes"]
        result["overrides"] = COMPARED[method] + FLAGS.overrides
        result["target_met"] = result["gain_in_initial_std"] >= 2 and \
            result["final"]["kl_to_reference"] <= 10
        merge(f"compare_{method}{FLAGS.tag}", result)


def held_out_step():
    """Re-measures the compare step's online runs with `held_out` (the prompts of their
    initial evaluation; runs before the fresh evaluation environment of tfllm-rl-finetune
    had their final evaluation on the next draw of held-out prompts) into "held_out"."""
    lm = os.path.join(FLAGS.runs, FLAGS.lm)
    results = read_json(RESULTS)
    for key in sorted(k for k in results if k.startswith("compare_")):
        r = results[key]
        if r.get("offline") or "held_out" in r:
            continue
        workdir = next(a.split("=", 1)[1] for a in r["command"].split()
                       if a.startswith("--workdir="))
        r["held_out"] = held_out(workdir, lm)
        merge(key, r)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


PHF_KEYS = ("unconditional/misalignment_per_char", "unconditional/misalignment_per_char_low",
            "unconditional/misalignment_per_char_high", "unconditional/mean_chars",
            "unconditional/over_threshold", "prompted/misalignment_per_char", "kl/per_sample",
            "validation/loss")


def pep8():
    """PPO from the PHF MLE model on the pycodestyle reward, then the PHF evaluation of the
    result (tfllm-evaluate, configs/phf_pep8.py:mle, KL to the MLE model) beside the MLE
    and conditional models' own eval/metrics.json."""
    import shutil

    mle = os.path.join(FLAGS.phf, "mle")
    workdir = os.path.join(FLAGS.runs, "rl_pep8" + FLAGS.tag)
    command, seconds = run_binary("tfllm.bin.rl_finetune", "configs/rl_pep8.py", workdir,
                                  f"--config.init_from={mle}")
    result = rl_result(workdir, command, seconds)
    result["init_from"] = mle
    result["overrides"] = FLAGS.overrides
    # training reward = -(pycodestyle violations per character) of the episode's text
    result["violations_per_char"] = {"initial": -result["initial"]["mean_reward"],
                                     "final": -result["final"]["mean_reward"]}
    # the PHF evaluation writes <workdir>/eval: run it on a copy of the PPO workdir
    evaldir = workdir + "_phf_eval"
    shutil.rmtree(evaldir, ignore_errors=True)
    shutil.copytree(workdir, evaldir, ignore=shutil.ignore_patterns("eval", "policy",
                                                                    "tensorboard"))
    eval_command = [sys.executable, "-m", "tfllm.bin.evaluate",
                    "--config=configs/phf_pep8.py:mle", f"--workdir={evaldir}",
                    f"--config.evaluation.reference_workdir={mle}",
                    *[f"--config.{o}" for o in FLAGS.phf_eval_overrides]]
    print(" ".join(eval_command), flush=True)
    began = time.time()
    subprocess.run(eval_command, cwd=REPO, check=True)
    result["phf_eval_seconds"] = time.time() - began
    result["phf_eval"] = {"ppo": phf_row(os.path.join(evaldir, "eval", "metrics.json"))}
    result["phf_eval_command"] = " ".join(eval_command[1:])
    merge("ppo_pep8" + FLAGS.tag, result)
    pep8_compare()


def phf_row(path):
    return {k: read_json(path).get(k) for k in PHF_KEYS} if os.path.isfile(path) else None


def pep8_compare():
    """(Re)reads the PHF MLE and conditional models' eval/metrics.json into ppo_pep8<tag>."""
    key = "ppo_pep8" + FLAGS.tag
    results = read_json(RESULTS)
    for name in ("mle", "conditional", "mle_then_conditional"):
        path = os.path.join(FLAGS.phf, name, "eval", "metrics.json")
        results[key]["phf_eval"][name] = phf_row(path)
        print(name, path, results[key]["phf_eval"][name])
    merge(key, results[key])


def reward():
    if FLAGS.reward_backbone == "encoder":
        suffix, pairs = "_encoder", os.path.join(FLAGS.runs, FLAGS.pairs)
        config = "configs/reward_sentiment.py:encoder"
        source = [f"--config.pairs.file={pairs}/pairs_train.jsonl",
                  f"--config.pairs.validation_file={pairs}/pairs_validation.jsonl"]
    else:
        suffix, lm = "", os.path.join(FLAGS.runs, FLAGS.lm)
        config = "configs/reward_sentiment.py"
        source = [f"--config.init_from={lm}", f"--config.pairs.sample_from={lm}"]
    workdir = os.path.join(FLAGS.runs, "reward_sentiment" + suffix + FLAGS.tag)
    command, seconds = run_binary("tfllm.bin.train_reward", config, workdir, *source)
    with open(os.path.join(workdir, "eval", "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    metrics.update(command=" ".join(command[1:]), seconds=seconds,
                   target_met=metrics["pairwise_accuracy"] >= 0.9, overrides=FLAGS.overrides)
    merge("reward_model" + suffix + FLAGS.tag, metrics)


def dpo():
    """DPO with tfllm-finetune on the reward step's pairs (ties within --min_margin
    dropped), then tfllm-evaluate's held-out implicit-reward accuracy ("preference")."""
    from tfllm.rl.preferences import drop_near_ties, read_pairs, write_pairs

    source, lm = os.path.join(FLAGS.runs, FLAGS.pairs), os.path.join(FLAGS.runs, FLAGS.lm)
    loss_type = next((o.split("=", 1)[1] for o in FLAGS.overrides
                      if o.startswith("objective.options.loss_type=")), "sigmoid")
    workdir = os.path.join(FLAGS.runs, f"dpo_sentiment_{loss_type}{FLAGS.tag}")
    files = {}
    for split in ("train", "validation"):
        files[split] = os.path.join(workdir, "pairs", f"pairs_{split}.jsonl")
        pairs = drop_near_ties(read_pairs(os.path.join(source, f"pairs_{split}.jsonl")),
                               FLAGS.min_margin)
        write_pairs(files[split], pairs)
    start = f"--config.init_from={lm}"  # the held-out pairs are for the evaluation only
    command, seconds = run_binary("tfllm.bin.finetune", "configs/dpo_sentiment.py", workdir,
                                  start, f"--config.data.train_file={files['train']}")
    evaluation, _ = run_binary("tfllm.bin.evaluate", "configs/dpo_sentiment.py", workdir,
                               start, f"--config.data.test_file={files['validation']}")
    metrics = read_json(os.path.join(workdir, "eval", "metrics.json"))
    config = read_json(os.path.join(workdir, "config.json"))
    result = {"pairwise_accuracy": metrics["pairwise_accuracy"],
              "reward_margin": metrics["reward_margin"], "validation_pairs": metrics["pairs"],
              "train_pairs": sum(1 for _ in read_pairs(files["train"])),
              "steps": config["training"]["steps"], "seconds": seconds,
              "objective": config["objective"]["options"], "pairs": source,
              "min_margin": FLAGS.min_margin, "overrides": FLAGS.overrides,
              "command": " ".join(command[1:]), "evaluation": " ".join(evaluation[1:])}
    result["target_met"] = result["pairwise_accuracy"] >= 0.9
    print(result)
    merge(f"dpo_{loss_type}{FLAGS.tag}", result)


def _fmt(value, digits=3):
    return "-" if value is None else f"{value:.{digits}g}" if isinstance(value, float) \
        else str(value)


def comparison_table(results):
    """Markdown table of the compare step's runs (one LM, prompts and budget): the held-out
    result on the initial evaluation's prompts ("held_out" where a run was re-measured)."""
    keys = sorted(k for k in results if k.startswith("compare_"))
    if not keys:
        return []
    lines = ["## Methods compared on sentiment", "",
             "One LM and the same held-out prompts for every method (`--step=compare`: "
             "configs/rl_sentiment.py with only the agent changed for the online methods, "
             "90 iterations x 64 episodes; DPO on pairs of as many sampled episodes; ILQL "
             "offline on the scored corpus). 'after' is measured on the prompts of the "
             "initial evaluation (tfllm-evaluate's rl mode; online runs made before that "
             "was tfllm-rl-finetune's own final evaluation were re-measured so). Gain in "
             "units of the initial policy's held-out reward std; target: gain >= 2 at KL "
             "<= 10 nats. The curves: rl_compare.png.", "",
             "| method | overrides | iterations (steps) | sampled episodes | reward before "
             "(std) | reward after | gain (std) | KL (nats) | target met | best "
             "training-batch gain at KL <= 10 (iteration) | response length | seconds |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key in keys:
        r = results[key]
        after = r.get("held_out", r["final"])
        start, std = r["initial"]["mean_reward"], max(r["initial"]["reward_std"], 1e-9)
        gain = (after["mean_reward"] - start) / std
        within = [((h["mean_reward"] - start) / std, h["iteration"]) for h in r["history"]
                  if h["kl_to_reference"] <= 10]
        best = max(within) if within else None
        met = gain >= 2 and after["kl_to_reference"] <= 10
        lines.append(
            f"| {r['method']} | {' '.join(r['overrides']) or '(config)'} | {r['iterations']} | "
            f"{r['episodes']} | {_fmt(start)} ({_fmt(r['initial']['reward_std'])}) | "
            f"{_fmt(after['mean_reward'])} | {_fmt(gain)} | "
            f"{_fmt(after['kl_to_reference'])} | {met} | "
            f"{'-' if best is None else f'{best[0]:.3g} ({best[1]})'} | "
            f"{_fmt(after.get('response_length'))} | {_fmt(r['seconds'], 4)} |")
    return lines + [""]


def plot_comparison(results, plt):
    """rl_compare.png: training-batch reward gain against KL to the reference, and over
    iterations, one line per compared method."""
    keys = sorted(k for k in results if k.startswith("compare_"))
    if not keys:
        return
    fig, (by_kl, by_iteration) = plt.subplots(1, 2, figsize=(11, 4))
    for key in keys:
        r = results[key]
        if not r["history"]:  # offline: no training batches
            continue
        start, std = r["initial"]["mean_reward"], max(r["initial"]["reward_std"], 1e-9)
        gain = [(h["mean_reward"] - start) / std for h in r["history"]]
        kl = [h["kl_to_reference"] for h in r["history"]]
        label = r["method"] + (f" (KL up to {max(kl):.0f})" if max(kl) > 30 else "")
        by_kl.plot(kl, gain, label=label)
        by_iteration.plot([h["iteration"] for h in r["history"]], gain, label=r["method"])
    by_kl.set_xlim(0, 30)
    by_kl.axvline(10.0, color="grey", linestyle=":")
    by_kl.axhline(2.0, color="grey", linestyle=":")
    by_kl.set_xlabel("KL to the reference (nats per episode, training batch)")
    by_kl.set_ylabel("reward gain (initial held-out std)")
    by_iteration.set_xlabel("iteration")
    by_kl.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(REPO, "docs", "results", "rl_compare.png"), dpi=70)


def agent_name(result):
    """The agent of an RL result: its agent.name override, else the config's (ppo)."""
    names = [o.split("=", 1)[1] for o in result.get("overrides", [])
             if o.startswith("agent.name=")]
    return (names[-1] if names else "ppo").upper().replace("Q", "Q-learning")


def summary_tables(results):
    """Markdown tables: the method comparison, every PPO run, every pairwise-accuracy
    run, the PEP8 comparison."""
    lines = comparison_table(results) + ["## PPO runs", "",
             "Held-out prompts (eval episodes of the collect policy, temperature 1), before "
             "and after training. Gain in units of the initial policy's reward std; target "
             "(sentiment): gain >= 2 at KL <= 10 nats.", "",
             "| run | overrides | iterations | reward before (std) | reward after | gain (std) "
             "| KL (nats) | response length (last batch) | target met | seconds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key in sorted(k for k in results if k.startswith("ppo_")):
        r = results[key]
        last = r["history"][-1] if r.get("history") else {}
        lines.append(
            f"| {key} | {' '.join(r.get('overrides', [])) or '(config)'} | {r['iterations']} | "
            f"{_fmt(r['initial']['mean_reward'])} ({_fmt(r['initial']['reward_std'])}) | "
            f"{_fmt(r['final']['mean_reward'])} | {_fmt(r['gain_in_initial_std'])} | "
            f"{_fmt(r['final']['kl_to_reference'])} | "
            f"{_fmt(last.get('response_length'))} | {r.get('target_met', '-')} | "
            f"{_fmt(r['seconds'], 4)} |")
    lines += ["", "## Pairwise accuracy on held-out scorer-labelled pairs (target >= 0.9)", "",
              "| run | train pairs | held-out pairs | pairwise accuracy | reward margin "
              "| target met | overrides |", "|---|---|---|---|---|---|---|"]
    for key in sorted(k for k in results if k.startswith(("reward_model", "dpo_"))):
        r = results[key]
        lines.append(f"| {key} | {r['train_pairs']} | {r['validation_pairs']} | "
                     f"{_fmt(r['pairwise_accuracy'])} | {_fmt(r['reward_margin'])} | "
                     f"{r['target_met']} | {' '.join(r.get('overrides', [])) or '(config)'} |")
    pep8_runs = sorted(k for k in results if k.startswith("ppo_pep8") and "phf_eval" in results[k])
    for init_from in sorted({results[k].get("init_from", "") for k in pep8_runs}):
        group = [k for k in pep8_runs if results[k].get("init_from", "") == init_from]
        lines += ["", f"## PEP8: RL from the PHF MLE model ({init_from or 'runs/phf_v2/mle'}) "
                  "vs pretraining with feedback (PHF evaluation)", "",
                  "tfllm-evaluate (configs/phf_pep8.py:mle and the overrides of "
                  "phf_eval_command: unconditional samples, temperature 0.7, top-p 0.9, "
                  "complete lines; KL(model || MLE) per sample from ancestral samples); the "
                  "PHF models: their own eval/metrics.json. Violations/char with its 95% "
                  "bootstrap interval where measured.", "",
                  "| model | violations/char [95% CI] | prompted violations/char | mean chars "
                  "| over threshold | KL to MLE (nats/sample) | validation loss |",
                  "|---|---|---|---|---|---|---|"]
        rows = [(name, m) for name, m in results[group[0]]["phf_eval"].items() if name != "ppo"]
        rows += [(f"{k} (MLE + {agent_name(results[k])})", results[k]["phf_eval"]["ppo"])
                 for k in group]
        for label, m in rows:
            if m is None:
                lines.append(f"| {label} | no eval/metrics.json | | | | | |")
                continue
            low = m.get("unconditional/misalignment_per_char_low")
            interval = "" if low is None else \
                f" [{low:.3g}, {m['unconditional/misalignment_per_char_high']:.3g}]"
            lines.append(
                f"| {label} | {_fmt(m['unconditional/misalignment_per_char'])}{interval} | "
                f"{_fmt(m.get('prompted/misalignment_per_char'))} | "
                f"{_fmt(m['unconditional/mean_chars'])} | "
                f"{_fmt(m['unconditional/over_threshold'])} | {_fmt(m['kl/per_sample'])} | "
                f"{_fmt(m['validation/loss'])} |")
    return lines + [""]


def report():
    """docs/results/rl.md and rl.png from rl.json."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(RESULTS, encoding="utf-8") as f:
        results = json.load(f)
    runs = sorted(k for k in results if k.startswith("ppo_"))
    fig, axes = plt.subplots(2, max(len(runs), 1), figsize=(4.5 * max(len(runs), 1), 6),
                             squeeze=False)
    for column, key in enumerate(runs):
        history = results[key]["history"]
        steps = [h["iteration"] for h in history]
        axes[0][column].plot(steps, [h["mean_reward"] for h in history])
        axes[0][column].set_title(f"{key}\nmean reward (training batches)", fontsize=9)
        axes[1][column].plot(steps, [h["kl_to_reference"] for h in history], label="KL to ref")
        axes[1][column].axhline(10.0, color="grey", linestyle=":", label="KL 10")
        axes[1][column].set_xlabel("iteration")
        axes[1][column].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(REPO, "docs", "results", "rl.png"), dpi=70)
    plot_comparison(results, plt)
    lines = ["# RL and preference-learning results", "",
             "Generated by `tools/rl_experiments.py --step=report` from `rl.json` "
             "(commands and full histories there). CPU-only, 2 cores shared with other "
             "engineers' jobs: budgets are minutes.", ""]
    lines += summary_tables(results)
    lines += ["## Notes", ""] + [f"- {note}" for note in results.get("notes", [])] + [""]
    lines += ["![reward and KL curves](rl.png)", ""]
    for key in ["rollout_bench"] + runs + sorted(
            k for k in results if k.startswith(("compare_", "reward_model", "dpo_"))):
        value = {k: v for k, v in results[key].items()
                 if k not in ("history", "phf_results", "final_samples")}
        lines += [f"## {key}", "", "```json", json.dumps(value, indent=2, sort_keys=True),
                  "```", ""]
        if "final_samples" in results[key]:
            lines += ["Samples after training:", ""]
            lines += [f"- `{s!r}`" for s in results[key]["final_samples"]] + [""]
    with open(os.path.join(REPO, "docs", "results", "rl.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main(argv):
    del argv
    {"bench": bench, "sentiment": sentiment, "reward": reward, "dpo": dpo, "pep8": pep8,
     "pep8_compare": pep8_compare, "compare": compare, "held_out": held_out_step,
     "report": report}[FLAGS.step]()


if __name__ == "__main__":
    app.run(main)
