"""tfllm-rl-finetune: the value head, the group and Q agents' wiring, the epsilon schedule,
resuming, a bad config."""

import importlib.util
import json
import os
import pathlib
import types

import numpy as np
import pytest

from tests.bin.binaries import QUIET, call
from tfllm.bin import evaluate, pretrain, rl_finetune
from tfllm.bin.rl_finetune import (epsilon_at, finetune, make_agent, make_driver,
                                   updates_per_iteration, with_value_head)
from tfllm.rl import CachedSamplingDriver, GRPOAgent, QLearningAgent, RLOOAgent

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_with_value_head_keeps_the_lm(toy):
    lm = toy.tiny_lm(value_head=False, seed=4)
    model = with_value_head(lm)
    tokens = np.array([[1, 5, 3, 4]], np.int32)
    np.testing.assert_allclose(model(tokens), lm(tokens), atol=1e-6)
    _, hidden = model.call_with_hidden(tokens)
    np.testing.assert_array_equal(model.value_head(hidden), np.zeros((1, 4)))
    assert with_value_head(model) is model


def sentiment_config(**agent):
    spec = importlib.util.spec_from_file_location("rl_sentiment",
                                                  REPO_ROOT / "configs" / "rl_sentiment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config()
    config.agent.update(agent)
    config.driver.num_episodes = 8
    return config


def test_group_agents_and_their_driver_come_from_the_config(toy):
    env = toy.make_env()
    for name, agent_class in (("grpo", GRPOAgent), ("rloo", RLOOAgent)):
        config = sentiment_config(name=name, group_size=4)
        agent = make_agent(config, env, toy.tiny_lm())
        assert isinstance(agent, agent_class) and agent.group_size == 4
        driver = make_driver(config, lambda i: env, agent, [])
        assert isinstance(driver, CachedSamplingDriver) and driver.group_size == 4
    config.driver.kind = "per_token"
    with pytest.raises(ValueError, match="need config.driver.kind='cached'"):
        make_driver(config, lambda i: env, agent, [])
    with pytest.raises(ValueError, match="group_size must be >= 2"):
        make_agent(sentiment_config(name="rloo"), env, toy.tiny_lm())


@pytest.fixture(scope="module")
def rl_run(tmp_path_factory):
    """A 2-step LM and a 1-iteration PPO run from it (both in this process, as the next
    tests' runs): workdir, args, eval/metrics.json."""
    tmp = tmp_path_factory.mktemp("rl_finetune")
    lm = tmp / "lm"
    call(pretrain.main, f"--config={REPO_ROOT / 'configs' / 'lm_tiny.py'}", f"--workdir={lm}",
         "--config.training.steps=2", "--config.data.max_files=5", *QUIET)
    rl = tmp / "rl"
    args = [f"--config={REPO_ROOT / 'configs' / 'rl_sentiment.py'}", f"--workdir={rl}",
            f"--config.init_from={lm}",
            "--config.data.corpus=python_stdlib_code", "--config.data.max_files=5",
            "--config.env.max_new_tokens=4", "--config.env.prompt_tokens=2",
            "--config.driver.num_episodes=4", "--config.evaluation.num_episodes=4",
            "--config.training.sample_every=0", "--config.training.checkpoint_every=1"]
    call(rl_finetune.main, *args, "--config.training.iterations=1")
    return types.SimpleNamespace(lm=lm, workdir=rl, args=args,
                                 metrics=json.loads((rl / "eval" / "metrics.json").read_text()))


def test_resume_keeps_the_initial_evaluation_of_the_starting_model(rl_run):
    """A run that died after a checkpoint (no eval/metrics.json yet) resumes, and its
    `initial` is still the starting model's evaluation, identical to an unbroken run's."""
    first = rl_run.metrics
    assert first["iterations"] == 1
    metrics_path = rl_run.workdir / "eval" / "metrics.json"
    os.remove(metrics_path)  # as if the run had died before its final evaluation
    call(rl_finetune.main, *rl_run.args, "--config.training.iterations=2")
    second = json.loads(metrics_path.read_text())
    assert second["iterations"] == 2
    assert second["initial"]["rewards"] == first["initial"]["rewards"]
    assert second["initial"]["samples"] == first["initial"]["samples"]
    assert second["initial"]["kl_to_reference"] == 0.0


def test_a_bad_config_leaves_the_workdir_as_it_was(rl_run):
    """The run's config with a bad agent name fails after loading the model and reward,
    and writes nothing."""
    files = {name: (rl_run.workdir / name).read_bytes() for name in ("config.json", "model.json")}
    config = sentiment_config(name="bogus")
    config.init_from = str(rl_run.lm)
    config.data.update(corpus="python_stdlib_code", max_files=5)
    config.env.update(max_new_tokens=4, prompt_tokens=2)
    with pytest.raises(ValueError, match="config.agent.name='bogus'"):
        finetune(config, str(rl_run.workdir))
    assert {name: (rl_run.workdir / name).read_bytes() for name in files} == files


def test_q_agent_comes_from_the_config_with_the_cached_driver_only(toy):
    env = toy.make_env()
    config = sentiment_config(name="q", target="hard", target_update_tau=0.5,
                              target_update_period=3, n_step_update=2, td_loss="squared")
    agent = make_agent(config, env, toy.tiny_lm())
    assert isinstance(agent, QLearningAgent)
    assert (agent.target, agent.target_update_tau, agent.target_update_period,
            agent.n_step_update) == ("hard", 0.5, 3, 2)
    assert isinstance(make_driver(config, lambda i: env, agent, []), CachedSamplingDriver)
    assert updates_per_iteration(config.agent) == config.agent.updates_per_iteration == 4
    assert updates_per_iteration(sentiment_config(name="ppo").agent) == 1
    config.driver.kind = "per_token"
    with pytest.raises(ValueError, match="needs config.driver.kind='cached'"):
        make_driver(config, lambda i: env, agent, [])


def test_epsilon_decays_linearly_then_stays():
    agent = sentiment_config(epsilon=0.5, epsilon_final=0.1, epsilon_decay_iterations=4).agent
    assert [epsilon_at(agent, i) for i in range(6)] == pytest.approx(
        [0.5, 0.4, 0.3, 0.2, 0.1, 0.1])
    constant = sentiment_config(epsilon=0.3).agent
    assert [epsilon_at(constant, i) for i in (0, 50)] == [0.3, 0.3]
    del constant["epsilon_decay_iterations"]  # configs written before the schedule
    assert epsilon_at(constant, 7) == 0.3


def test_tfllm_evaluate_measures_a_policy_workdir_as_rl_finetune_does(rl_run, tmp_path):
    """tfllm-evaluate in rl mode (the RL config's evaluation, KL from the sampler's log-probs)
    on the starting LM repeats tfllm-rl-finetune's initial evaluation (the same episodes,
    KL 0), and on the RL workdir its final one (the KL equality away from 0 is
    tests/rl/test_evaluation.py's)."""
    import shutil

    metrics = json.loads((rl_run.workdir / "eval" / "metrics.json").read_text())
    for source, key in ((rl_run.lm, "initial"), (rl_run.workdir, "final")):
        workdir = tmp_path / key
        shutil.copytree(source, workdir, ignore=shutil.ignore_patterns("eval"))
        call(evaluate.main, f"--workdir={workdir}", rl_run.args[0], *rl_run.args[2:])
        measured = json.loads((workdir / "eval" / "metrics.json").read_text())
        assert measured["rewards"] == metrics[key]["rewards"]
        assert measured["samples"] == metrics[key]["samples"]
        assert measured["reference_workdir"] == str(rl_run.lm)
        np.testing.assert_allclose(measured["kl_to_reference"], metrics[key]["kl_to_reference"],
                                   atol=1e-4, rtol=1e-4)


def test_an_unreadable_checkpoint_resumes_from_the_one_before(rl_run, tmp_path, caplog):
    """The RL run's checkpoints follow the trainers' rule: with its newest checkpoint
    truncated, a rerun restores the one before (a warning names it) and trains on."""
    import shutil

    workdir = tmp_path / "rl"
    shutil.copytree(rl_run.workdir, workdir)
    args = [a if not a.startswith("--workdir=") else f"--workdir={workdir}" for a in rl_run.args]

    def checkpoints():
        return sorted((workdir / "checkpoints").glob("ckpt-*.index"),
                      key=lambda p: int(p.stem.split("-")[1]))

    iterations = json.loads((workdir / "eval" / "metrics.json").read_text())["iterations"]
    if len(checkpoints()) < 2:  # one more iteration writes a second checkpoint
        iterations += 1
        call(rl_finetune.main, *args, f"--config.training.iterations={iterations}")
    newest = checkpoints()[-1]
    for data in (workdir / "checkpoints").glob(f"{newest.stem}.data-*"):
        data.write_bytes(data.read_bytes()[:10])  # a write cut short
    os.remove(workdir / "eval" / "metrics.json")
    call(rl_finetune.main, *args, f"--config.training.iterations={iterations}")
    assert f"checkpoint {workdir / 'checkpoints' / newest.stem} is unreadable" in caplog.text
    assert json.loads((workdir / "eval" / "metrics.json").read_text())["iterations"] == iterations
