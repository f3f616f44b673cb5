"""tfllm-rl-finetune: fine-tune a pretrained LM on a reward with TF-Agents (PPO, REINFORCE,
GRPO, RLOO or Q-learning).

    tfllm-rl-finetune --config=configs/rl_sentiment.py --workdir=runs/rl_sentiment
        --config.init_from=runs/rl_sentiment_lm [--config.agent.name=reinforce ...]
    ... --config.init_from=preset:<name>                 # a trained preset's LM
    ... --config.agent.name=grpo --config.agent.group_size=8   # or rloo
    ... --config.agent.name=q [--config.agent.target=hard --config.agent.epsilon=0.1]

Each iteration a driver (config.driver.kind: "cached" = whole continuations with the KV
cache; "per_token" = TF-Agents DynamicEpisodeDriver over a TFPyEnvironment) collects
config.driver.num_episodes episodes into a TFUniformReplayBuffer, and the agent trains on
them. config.agent.group_size (the one place it is set) samples that many continuations per
prompt in adjacent rows (cached driver only; num_episodes a multiple of it); GRPO and RLOO
need it >= 2 and compare the samples of a prompt instead of a value head.
Q-learning (config.agent.name="q", tfllm.rl.QLearningAgent: KL-regularized soft Q-values,
Q = the value head plus kl_coef times the LM's log-ratio to the reference) is
off-policy: the iteration's episodes also go to a replay of whole episodes
(tfllm.rl.EpisodeReplay) holding the last config.agent.replay_capacity iterations, and the
agent makes config.agent.updates_per_iteration updates per iteration, each on
config.agent.replay_batch_size episodes sampled from it (cached driver only; the replay
starts empty again when a run resumes); its LossInfo extras are averaged over the
iteration's updates. config.agent.epsilon_final and epsilon_decay_iterations (any agent;
absent or 0 = a constant epsilon) decay the collect policy's epsilon linearly from
config.agent.epsilon. The held-out evaluation samples one continuation per prompt whatever
the group size, from softmax(logits / temperature) without the exploration epsilon, on the
same draw of validation prompts every time (as tfllm-evaluate's "rl" mode). The
reward is a scorer (config.reward.scorer) or a reward-model workdir
(config.reward.reward_model). TensorBoard (<workdir>/tensorboard): every LossInfo extra
(mean reward, KL to reference, entropy, clip fraction, value loss, approx KL; for
Q-learning TD loss and error, Q and value means, epsilon, replay size ...) and samples
with their rewards. Held-out prompts are evaluated before and after training into
<workdir>/eval/metrics.json; the greedy policy is exported with PolicySaver to
<workdir>/policy and the weights to <workdir>/checkpoints (+ model.json, tokenizer/; for
Q-learning also the target network), so tfllm-generate/evaluate can load the result.
With config.lora.rank > 0 (not for "q") only LoRA adapters and the value head train; the
training checkpoints in <workdir>/lora_checkpoints hold those, and <workdir>/checkpoints
the merged model (docs/finetuning.md).
Rerunning resumes from the newest readable checkpoint (tfllm.training.checkpoints, as the
trainer binaries do: an unreadable one is skipped for the one before). The workdir is
written (config.json, model.json, tokenizer/) only once the agent, environments and driver
are built, so a bad config leaves an existing workdir as it was.
"""

import json
import os
import time

from absl import flags

from tfllm import experiment
from tfllm.bin import common

FLAGS = flags.FLAGS
AGENTS = ("ppo", "reinforce", "grpo", "rloo", "q")
DRIVERS = ("cached", "per_token")


def with_value_head(lm):
    """A copy of DecoderLM `lm` with a (zero-initialized) value head, same weights."""
    from tfllm.models import DecoderLM

    if lm.has_value_head:
        return lm
    model = DecoderLM.from_config({**lm.get_config(), "value_head": True})
    old = {v.path.split("/", 1)[1]: v for v in lm.weights}
    for variable in model.weights:
        key = variable.path.split("/", 1)[1]
        if key in old:
            variable.assign(old[key])
        elif not key.startswith("value_head"):
            raise ValueError(f"with_value_head: no weight {key!r} in the loaded model")
    return model


def make_agent(config, env, model):
    import keras

    from tfllm.rl import GRPOAgent, PPOAgent, QLearningAgent, ReinforceAgent, RLOOAgent, tf_specs

    a = config.agent
    if a.name not in AGENTS:
        raise ValueError(f"config.agent.name={a.name!r}: expected one of {AGENTS}")
    common_args = dict(
        kl_coef=a.kl_coef, kl_target=a.kl_target or None, kl_horizon=a.kl_horizon,
        whiten_rewards=a.whiten_rewards, entropy_coef=a.entropy_coef,
        value_coef=a.value_coef, gamma=a.gamma, temperature=a.temperature,
        epsilon=a.epsilon, max_grad_norm=a.max_grad_norm or None, group_size=a.group_size)
    optimizer = keras.optimizers.Adam(a.learning_rate)
    if a.name == "ppo":
        return PPOAgent(*tf_specs(env), model, optimizer, num_epochs=a.num_epochs,
                        clip_ratio=a.clip_ratio, td_lambda=a.td_lambda,
                        normalize_advantages=a.normalize_advantages, **common_args)
    if a.name == "grpo":
        return GRPOAgent(*tf_specs(env), model, optimizer, num_epochs=a.num_epochs,
                         clip_ratio=a.clip_ratio, scale_rewards=a.scale_rewards, **common_args)
    if a.name == "rloo":
        return RLOOAgent(*tf_specs(env), model, optimizer, num_epochs=a.num_epochs,
                         clip_ratio=a.clip_ratio, **common_args)
    if a.name == "q":
        return QLearningAgent(*tf_specs(env), model, optimizer, target=a.target,
                              target_update_tau=a.target_update_tau,
                              target_update_period=a.target_update_period,
                              n_step_update=a.n_step_update, td_errors_loss_fn=a.td_loss,
                              **common_args)
    return ReinforceAgent(*tf_specs(env), model, optimizer, baseline=a.baseline, **common_args)


def make_driver(config, env_factory, agent, observers):
    from tf_agents.drivers import dynamic_episode_driver
    from tf_agents.environments import batched_py_environment, tf_py_environment

    from tfllm.rl import CachedSamplingDriver

    d = config.driver
    group_size = config.agent.group_size
    if config.agent.name == "q" and d.kind != "cached":
        raise ValueError(f"config.driver.kind={d.kind!r}: config.agent.name='q' replays whole "
                         "episodes, one per row, and needs config.driver.kind='cached'")
    if d.kind == "cached":
        return CachedSamplingDriver(env_factory(0), agent.collect_policy, observers,
                                    num_episodes=d.num_episodes, seed=config.training.seed,
                                    group_size=group_size)
    if d.kind == "per_token":
        if group_size != 1:
            raise ValueError(f"config.agent.group_size={group_size}: groups of samples per "
                             "prompt need config.driver.kind='cached'")
        envs = [env_factory(i) for i in range(d.num_episodes)]
        tf_env = tf_py_environment.TFPyEnvironment(
            batched_py_environment.BatchedPyEnvironment(envs))
        return dynamic_episode_driver.DynamicEpisodeDriver(
            tf_env, agent.collect_policy, observers, num_episodes=d.num_episodes)
    raise ValueError(f"config.driver.kind={d.kind!r}: expected one of {DRIVERS}")


def epsilon_at(agent_config, iteration):
    """The collect policy's epsilon at `iteration` (0-based): linear from agent.epsilon to
    agent.epsilon_final over agent.epsilon_decay_iterations iterations, then constant
    (absent or 0 decay iterations: agent.epsilon throughout)."""
    a = agent_config
    decay = a.get("epsilon_decay_iterations", 0)
    if not decay:
        return a.epsilon
    return a.epsilon + (a.epsilon_final - a.epsilon) * min(iteration / decay, 1.0)


def updates_per_iteration(agent_config):
    """Agent train steps per iteration: 1 on-policy, agent.updates_per_iteration for "q"."""
    return agent_config.updates_per_iteration if agent_config.name == "q" else 1


def collect_and_train(agent, driver, buffer, replay=None, updates=1, replay_batch_size=0):
    """One iteration: `driver` fills the per-step `buffer`, which is emptied, then the agent
    trains: on-policy (replay None) once on the iteration's episodes; off-policy, the
    episodes join `replay` (EpisodeReplay) and the agent makes `updates` steps, each on
    replay_batch_size episodes sampled from it. Returns the LossInfo extras as floats
    (averaged over the updates, with replay_episodes: the episodes the replay holds)."""
    driver.run()
    experience = buffer.gather_all()
    buffer.clear()
    if replay is None:
        return {k: float(v) for k, v in agent.train(experience).extra.items()}
    replay.add(experience)
    extras = [agent.train(replay.sample(replay_batch_size)).extra for _ in range(updates)]
    extra = {k: sum(float(e[k]) for e in extras) / updates for k in extras[0]}
    extra["replay_episodes"] = float(replay.num_episodes())
    return extra


def main(argv):
    finetune(FLAGS.config, FLAGS.workdir)


def finetune(config, workdir):
    """The run `main` makes of --config in --workdir (see the module docstring)."""
    import tensorflow as tf
    from tf_agents.replay_buffers import tf_uniform_replay_buffer

    from tfllm.rl import EpisodeReplay, save_policy
    from tfllm.tokenizers import Tokenizer
    from tfllm.training.checkpoints import (Checkpointer, model_trackables,
                                            save_lora_outputs, training_checkpoints)

    common.setup(config)
    lm_workdir = experiment.resolve_workdir(config.init_from)
    if not lm_workdir:
        raise ValueError("config.init_from: give the workdir of a pretrained LM (or "
                         "preset:<name>)")
    lora = experiment.lora_settings(config, lm_workdir)
    if lora and config.agent.name == "q":
        raise ValueError("config.lora.rank > 0 with config.agent.name='q': the Q-learning "
                         "target network tracks every weight; set config.lora.rank=0")
    tokenizer = Tokenizer.load(os.path.join(lm_workdir, experiment.TOKENIZER_DIR))
    model = with_value_head(experiment.load_model(lm_workdir))
    if lora:
        experiment.with_lora(model, lora)
        model.value_head.trainable = True  # a new head: trained in full beside the adapters
    reward = experiment.reward_fn(config, tokenizer)
    seed = config.training.seed
    train_env = experiment.environment(config, tokenizer, "train", reward, seed)

    held_out = experiment.HeldOutEvaluation(config, tokenizer, reward)
    agent = make_agent(config, train_env, model)
    d = config.driver
    max_length = (train_env.max_new_tokens + 1) * (1 if d.kind == "cached" else 2)
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        agent.collect_data_spec, batch_size=d.num_episodes, max_length=max_length)
    driver = make_driver(
        config, lambda i: experiment.environment(config, tokenizer, "train", reward,
                                                 seed + 10 * i),
        agent, [buffer.add_batch])
    a = config.agent
    updates = updates_per_iteration(a)
    replay, replay_batch_size = None, 0
    if a.name == "q":
        replay = EpisodeReplay(agent.collect_data_spec, d.num_episodes, max_length,
                               a.replay_capacity)
        replay_batch_size = a.replay_batch_size
    os.makedirs(workdir, exist_ok=True)
    common.write_run_metadata(workdir, config, model)
    tokenizer.save(os.path.join(workdir, "tokenizer"))

    directory, model_state = training_checkpoints(workdir, model)
    trackables = dict(**model_state, optimizer=agent.optimizer,
                      kl_coef=agent.kl_controller.coef)
    if replay is not None:
        trackables.update(model_trackables(agent.target_model, "target"))
    checkpointer = Checkpointer(directory, agent.train_step_counter, max_to_keep=2,
                                **trackables)
    metrics_path = os.path.join(workdir, "eval", "metrics.json")
    # the initial evaluation is of the starting model: made (and written at once, so a run
    # that dies later resumes with it) before any checkpoint is restored
    initial = experiment.read_json(metrics_path).get("initial") \
        if os.path.isfile(metrics_path) else None
    if initial is None:
        initial = held_out(agent.collect_policy, agent.statistics)
        os.makedirs(os.path.dirname(metrics_path), exist_ok=True)
        common.write_json(metrics_path, {"initial": initial})
    checkpointer.restore()
    writer = tf.summary.create_file_writer(os.path.join(workdir, "tensorboard"))
    t = config.training
    start = int(agent.train_step_counter.numpy()) // updates
    history = []
    began = time.time()
    for iteration in range(start, t.iterations):
        agent.collect_policy.epsilon = epsilon_at(a, iteration)
        extra = collect_and_train(agent, driver, buffer, replay, updates, replay_batch_size)
        history.append({"iteration": iteration + 1, **extra})
        with writer.as_default(step=iteration + 1):
            for key, value in extra.items():
                tf.summary.scalar(f"rl/{key}", value)
            if t.sample_every and (iteration + 1) % t.sample_every == 0:
                stats = held_out(agent.collect_policy, agent.statistics, num_episodes=4,
                                 sampler_seed=seed + iteration)
                tf.summary.text("samples", "\n\n".join(
                    f"**{r:.3f}** `{s!r}`" for r, s in zip(stats["rewards"], stats["samples"])))
        if t.log_every and (iteration + 1) % t.log_every == 0:
            print(f"iteration {iteration + 1}: " + ", ".join(
                f"{k}={v:.4g}" for k, v in extra.items()), flush=True)
        if t.checkpoint_every and (iteration + 1) % t.checkpoint_every == 0:
            checkpointer.save()
    checkpointer.save()
    if lora:
        save_lora_outputs(workdir, model, int(agent.train_step_counter.numpy()))
    writer.flush()
    final = held_out(agent.collect_policy, agent.statistics)
    save_policy(agent.policy, os.path.join(workdir, "policy"))
    summary = {"initial": initial, "final": final, "seconds": time.time() - began,
               "iterations": int(agent.train_step_counter.numpy()) // updates}
    os.makedirs(os.path.dirname(metrics_path), exist_ok=True)
    common.write_json(metrics_path, summary)
    with open(os.path.join(workdir, "history.jsonl"), "a", encoding="utf-8") as f:
        f.writelines(json.dumps(h) + "\n" for h in history)
    print(f"held-out mean reward {initial['mean_reward']:.4g} -> {final['mean_reward']:.4g} "
          f"(initial std {initial['reward_std']:.4g}); KL to reference "
          f"{final['kl_to_reference']:.4g} nats; policy in {workdir}/policy")


def run():
    common.define_flags(strategy=False)
    common.run(main)


if __name__ == "__main__":
    run()
