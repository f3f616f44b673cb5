"""QLearningAgent: TD targets and the Polyak update by hand, the learned Q of a toy task
against its hand-computed optimum, and epsilon 1 sampling uniformly."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from tf_agents.replay_buffers import tf_uniform_replay_buffer
from tf_agents.trajectories import time_step as ts

from tfllm.bin.rl_finetune import collect_and_train
from tfllm.models import DecoderLM
from tfllm.rl import CachedSamplingDriver, EpisodeReplay, QLearningAgent, TokenEnvironment
from tfllm.rl.driver import episodes_to_trajectory
from tfllm.rl.environment import tf_specs
from tfllm.rl.policy import LMPolicy
from tfllm.rl.q_agent import state_values, td_targets


def soft_value(q, temperature):
    return temperature * math.log(sum(math.exp(x / temperature) for x in q))


def test_td_targets_by_hand():
    """Row 0: an episode of 3 actions (the last at t=2, discount 0), then a boundary step;
    row 1: a 1-action episode, then boundary steps whose Q (99) must not leak in."""
    q = np.array([[[1.0, 2.0, 0.0], [0.5, -1.0, 3.0], [2.0, 0.0, 1.0], [99.0, 99.0, 99.0]],
                  [[0.0, 1.0, 0.0], [99.0, 99.0, 99.0], [99.0, 99.0, 99.0],
                   [99.0, 99.0, 99.0]]], np.float32)
    actions = np.array([[1, 2, 0, 0], [1, 0, 0, 0]], np.int32)
    rewards = np.array([[0.1, -0.2, 1.0, 0.0], [0.7, 0.0, 0.0, 0.0]], np.float32)
    gamma = 0.9
    discounts = gamma * np.array([[1, 1, 0, 1], [0, 1, 1, 1]], np.float32)
    valid = np.array([[True, True, True, False], [True, False, False, False]])

    def targets(target, n_step, temperature=1.0):
        return td_targets(tf.constant(q), tf.constant(actions), tf.constant(rewards),
                          tf.constant(discounts), tf.constant(valid), target, temperature,
                          n_step).numpy()

    # hard, one step: r_t + gamma max_a Q(s_{t+1}, a); the last step's target is r_t
    hard = targets("hard", 1)
    np.testing.assert_allclose(hard[0, :3], [0.1 + 0.9 * 3.0, -0.2 + 0.9 * 2.0, 1.0], rtol=1e-6)
    assert hard[1, 0] == pytest.approx(0.7)
    # soft, T = 0.5: V(s) = 0.5 log sum_a exp(Q(s, a) / 0.5)
    v1, v2 = soft_value(q[0, 1], 0.5), soft_value(q[0, 2], 0.5)
    soft = targets("soft", 1, 0.5)
    np.testing.assert_allclose(soft[0, :3], [0.1 + 0.9 * v1, -0.2 + 0.9 * v2, 1.0], rtol=1e-6)
    assert soft[1, 0] == pytest.approx(0.7)
    # two steps: hard adds r_{t+1}; soft also the entropy term V(s_{t+1}) - Q(s_{t+1}, a_{t+1})
    hard2 = targets("hard", 2)
    np.testing.assert_allclose(hard2[0, :3], [0.1 + 0.9 * (-0.2) + 0.81 * 2.0,
                                              -0.2 + 0.9 * 1.0, 1.0], rtol=1e-6)
    soft2 = targets("soft", 2, 0.5)
    np.testing.assert_allclose(
        soft2[0, :3], [0.1 + 0.9 * (-0.2 + v1 - 3.0) + 0.81 * v2,
                       -0.2 + 0.9 * (1.0 + v2 - 2.0), 1.0], rtol=1e-6)
    # soft with a prior: V(s) = tau log sum_a pi_ref(a) exp(Q(s, a) / tau)
    prior = np.log(np.array([0.2, 0.3, 0.5], np.float32)) * np.ones_like(q)
    with_prior = td_targets(tf.constant(q), tf.constant(actions), tf.constant(rewards),
                            tf.constant(discounts), tf.constant(valid), "soft", 0.5, 1,
                            tf.constant(prior)).numpy()
    v1 = 0.5 * math.log(sum(p * math.exp(x / 0.5) for p, x in zip([0.2, 0.3, 0.5], q[0, 1])))
    assert with_prior[0, 0] == pytest.approx(0.1 + 0.9 * v1, rel=1e-6)
    for result in (hard, soft, hard2, soft2):
        assert result[1, 0] == pytest.approx(0.7)
    np.testing.assert_allclose(state_values(tf.constant(q[0, :3]), "soft", 0.5).numpy(),
                               [soft_value(row, 0.5) for row in q[0, :3]], rtol=1e-6)


def fixed_batch():
    """Two episodes after prompt [1]: [5, 3, EOS] (reward 1) and [4, EOS] (reward 0.5)."""
    actions = np.array([[5, 3, 2, 0], [4, 2, 0, 0]], np.int32)
    return episodes_to_trajectory([[1], [1]], actions, np.zeros(actions.shape, np.float32),
                                  [3, 2], [1.0, 0.5], 5, 0)


def log_softmax(logits):
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def q_by_hand(model, reference, tokens, positions, tau):
    """Q (n, vocab) = V + tau (log pi - log pi_ref) at `positions` of `tokens` (n, length),
    and log pi_ref there, from full forwards of the model and the reference."""
    rows = np.arange(len(positions))

    def at_positions(lm):
        _, hidden = lm.call_with_hidden(tokens)
        hidden = tf.constant(hidden.numpy()[rows, positions])
        return hidden, log_softmax(lm.logits(hidden).numpy())

    hidden, log_pi = at_positions(model)
    _, prior = at_positions(reference)
    return model.value_head(hidden).numpy()[..., None] + tau * (log_pi - prior), prior


def step_q(model, reference, experience, tau):
    """Q(s_t, .) and log pi_ref(. | s_t) (batch, time, vocab) from full forwards on each
    step's own observation."""
    tokens = experience.observation["tokens"].numpy()
    length = experience.observation["length"].numpy()
    q, prior = q_by_hand(model, reference, tokens.reshape(-1, tokens.shape[-1]),
                         np.maximum(length.reshape(-1) - 1, 0), tau)
    return q.reshape(*length.shape, -1), prior.reshape(*length.shape, -1)


def test_agent_td_targets_come_from_the_target_network(toy):
    """y_t = r_t + gamma V_target(s_{t+1}), V_target from the target network's Q at the
    next step's state (not the online network's) with the reference as the prior, r_t at an
    episode's last step (the task reward: the KL is in V, not in r)."""
    env = toy.make_env()
    model, target = toy.tiny_lm(), toy.tiny_lm(seed=1)
    randomize_value_head(target)
    experience = fixed_batch()
    for kind, tau in (("soft", 0.7), ("hard", 0.3)):
        # the reference is a frozen copy of `model`, which is not trained here
        q_target, prior = step_q(target, model, experience, tau)
        agent = QLearningAgent(*tf_specs(env), model, keras.optimizers.Adam(), target=kind,
                               kl_coef=tau, gamma=0.9, target_model=target)
        values = state_values(tf.constant(q_target), kind, tau, tf.constant(prior)).numpy()
        expected = [[0.9 * values[0, 1], 0.9 * values[0, 2], 1.0],
                    [0.9 * values[1, 1], 0.5]]
        got = agent.td_targets(experience).numpy()
        np.testing.assert_allclose(got[0, :3], expected[0], rtol=1e-5)
        np.testing.assert_allclose(got[1, :2], expected[1], rtol=1e-5)


def randomize_value_head(model):
    """A non-zero value head (it starts at zero), so tests see V(s) in Q."""
    for variable in model.value_head.weights:
        variable.assign(np.random.default_rng(0).normal(0, 1, variable.shape))


def flat(model):
    return np.concatenate([v.numpy().ravel() for v in model.weights
                           if not v.path.endswith("seed_generator_state")])


def test_polyak_update_every_period_by_hand(toy):
    """tau 0.5, period 2: the target stays after train step 1 and becomes
    0.5 target + 0.5 online after step 2; the first step's extras match a hand computation."""
    env = toy.make_env()
    model, target = toy.tiny_lm(), toy.tiny_lm(seed=1)
    randomize_value_head(model)
    agent = QLearningAgent(*tf_specs(env), model, keras.optimizers.Adam(1e-2), target="hard",
                           target_update_tau=0.5, target_update_period=2, target_model=target,
                           td_errors_loss_fn="squared", epsilon=0.25, kl_coef=0.5)
    experience = fixed_batch()
    targets = agent.td_targets(experience).numpy()
    q_taken = np.take_along_axis(step_q(model, model, experience, 0.5)[0],
                                 experience.action.numpy()[..., None], axis=-1)[..., 0]
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], bool)
    target_before = flat(target)
    first = {k: float(v) for k, v in agent.train(experience).extra.items()}
    assert first["td_loss"] == pytest.approx(np.mean((targets - q_taken)[mask] ** 2), rel=1e-4)
    assert first["td_error"] == pytest.approx(np.mean(np.abs(targets - q_taken)[mask]), rel=1e-4)
    assert first["q_mean"] == pytest.approx(np.mean(q_taken[mask]), rel=1e-4, abs=1e-6)
    assert first["target_mean"] == pytest.approx(np.mean(targets[mask]), rel=1e-4)
    assert first["epsilon"] == 0.25
    np.testing.assert_array_equal(flat(target), target_before)
    agent.train(experience)
    np.testing.assert_allclose(flat(target), 0.5 * target_before + 0.5 * flat(model),
                               rtol=1e-5, atol=1e-7)
    assert int(agent.train_step_counter.numpy()) == 2


def rewarded_pair(prompts, responses):
    return [1.0 if response == [2, 1] else 0.0 for response in responses]


# The toy task: tokens {0, 1, 2}, prompt [0], exactly 2 actions, reward 1 for the response
# [2, 1] only, gamma 1, a uniform reference (pi_ref = 1/3) and tau = kl_coef = 1.
# Hard Q* (Q*(s, a) = r + max_a' Q*(s', a')):
#   after [0, 2]: Q* = (0, 1, 0); after [0, 0] or [0, 1]: Q* = (0, 0, 0);
#   at [0]: Q*(a) = max over the second step = (0, 0, 1).
# Soft Q* (V(s) = log sum_a 1/3 exp Q*(s, a)): the second step is the same; V([0, 2]) =
#   log((e + 2) / 3), V([0, 0]) = V([0, 1]) = 0, so at [0]: Q* = (0, 0, log((e + 2) / 3)).
# Both greedy policies emit [2, 1].
STATES = np.array([[0, 0, 0], [0, 0, 0], [0, 1, 0], [0, 2, 0]], np.int32)  # [0], [0, a]
POSITIONS = [0, 1, 1, 1]
Q_STAR = {"hard": [[0, 0, 1], [0, 0, 0], [0, 0, 0], [0, 1, 0]],
          "soft": [[0, 0, math.log((math.e + 2) / 3)], [0, 0, 0], [0, 0, 0], [0, 1, 0]]}
TOLERANCE = 0.1


def toy_lm():
    return DecoderLM(3, num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32,
                     max_sequence_length=4, value_head=True)


def uniform_lm():
    """A DecoderLM whose next-token distribution is uniform (a zero embedding table: the
    tied output layer gives every logit 0)."""
    model = toy_lm()
    model(np.zeros((1, 1), np.int32))  # builds the weights
    model.token_embedding.embeddings.assign(tf.zeros_like(model.token_embedding.embeddings))
    return model


def toy_q(agent):
    """Q (4, 3) at the states [0], [0, 0], [0, 1], [0, 2]."""
    return q_by_hand(agent.model, agent.reference_model, STATES, POSITIONS, 1.0)[0]


@pytest.fixture(scope="module", params=["hard", "soft"])
def trained(request):
    """50 iterations of 16 episodes at epsilon 0.5 into an 8-iteration replay, 4 updates of
    16 replayed episodes each; Polyak tau 0.1 every step."""
    keras.utils.set_random_seed(0)
    model = toy_lm()
    env = TokenEnvironment([[0]], 3, 2, rewarded_pair, eos_id=None, pad_id=0)
    agent = QLearningAgent(*tf_specs(env), model, keras.optimizers.Adam(1e-2),
                           target=request.param, target_update_tau=0.1, epsilon=0.5,
                           max_grad_norm=None, kl_coef=1.0, reference_model=uniform_lm())
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(agent.collect_data_spec,
                                                            batch_size=16, max_length=3)
    replay = EpisodeReplay(agent.collect_data_spec, 16, 3, capacity=8)
    driver = CachedSamplingDriver(env, agent.collect_policy, [buffer.add_batch], num_episodes=16)
    history = []
    for _ in range(50):
        driver.run()
        replay.add(buffer.gather_all())
        buffer.clear()
        for _ in range(4):
            history.append({k: float(v) for k, v in agent.train(replay.sample(16)).extra.items()})
    assert replay.num_episodes() == 8 * 16
    return request.param, agent, model, env, history


def test_learned_q_matches_the_hand_computed_optimum(trained):
    target, agent, _, _, history = trained
    q = toy_q(agent)
    print(f"{target}: learned Q\n{np.round(q, 3)}\nQ*\n{np.round(Q_STAR[target], 3)}")
    np.testing.assert_allclose(q, Q_STAR[target], atol=TOLERANCE)
    assert {"td_loss", "td_error", "q_mean", "value_mean", "epsilon", "mean_reward",
            "kl_to_reference", "entropy"} <= set(history[-1])
    assert history[-1]["td_error"] < 0.05


def test_greedy_policy_emits_the_rewarded_sequence(trained):
    _, agent, _, env, _ = trained
    tokens = np.zeros((1, env.max_length), np.int32)
    for length in (1, 2):
        step = ts.restart({"tokens": tf.constant(tokens), "length": tf.constant([length])},
                          batch_size=1)
        tokens[0, length] = int(agent.policy.action(step).action.numpy()[0])
    assert tokens[0, 1:].tolist() == [2, 1]


def sample(policy, runs, seed):
    """`runs` batches of 16 two-token responses after [0] (the training's sampler shape)."""
    out = [policy.sample_continuations([[0]] * 16, 2, None, 0, [seed, run])
           for run in range(runs)]
    return np.concatenate([o[0] for o in out]), np.concatenate([o[1] for o in out])


def test_epsilon_one_samples_uniformly(trained):
    """The trained policy is far from uniform; at epsilon 1 the 9 two-token responses of
    3008 episodes are uniform (chi-square, 8 degrees of freedom, p = 0.001 bound 26.12) and
    every log-prob is log(1/3). At epsilon 0.5 the sampled log-probs are the mixture's."""
    _, agent, _, _, _ = trained
    policy = agent.collect_policy
    q = toy_q(agent)  # the policy is softmax(Q / tau + log pi_ref), here softmax(Q)
    mixture = np.log(0.5 * np.exp(q) / np.exp(q).sum(-1, keepdims=True) + 0.5 / 3)
    actions, log_probs = sample(policy, 4, 7)
    expected = np.stack([mixture[0, actions[:, 0]], mixture[1 + actions[:, 0], actions[:, 1]]], 1)
    np.testing.assert_allclose(log_probs, expected, atol=1e-5)
    policy.epsilon = 1.0
    try:
        actions, log_probs = sample(policy, 188, 8)
        step = ts.restart({"tokens": tf.constant(STATES), "length": tf.constant([1, 2, 2, 2])},
                          batch_size=4)
        probabilities = policy.distribution(step).action.probs_parameter().numpy()
    finally:
        policy.epsilon = 0.5
    np.testing.assert_allclose(log_probs, np.log(1 / 3), rtol=1e-6)
    np.testing.assert_allclose(probabilities, 1 / 3, rtol=1e-6)
    counts = np.bincount(actions[:, 0] * 3 + actions[:, 1], minlength=9)
    chi_square = ((counts - len(actions) / 9) ** 2 / (len(actions) / 9)).sum()
    assert chi_square < 26.12, counts


def test_an_iteration_trains_on_a_replay_of_earlier_iterations(trained):
    """tfllm-rl-finetune's iteration for "q" (collect_and_train): the replay (capacity 2)
    keeps the previous iteration's episodes, then only the last two iterations'; each
    iteration makes `updates` agent steps on sampled whole episodes."""
    _, agent, _, env, _ = trained
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(agent.collect_data_spec,
                                                            batch_size=16, max_length=3)
    replay = EpisodeReplay(agent.collect_data_spec, 16, 3, capacity=2)
    driver = CachedSamplingDriver(env, agent.collect_policy, [buffer.add_batch],
                                  num_episodes=16, seed=5)
    runs = []
    run = driver.run
    driver.run = lambda: runs.append(run()[0]) or runs[-1]
    steps = int(agent.train_step_counter.numpy())
    held = [collect_and_train(agent, driver, buffer, replay, updates=3,
                              replay_batch_size=16)["replay_episodes"] for _ in range(3)]
    assert held == [16.0, 32.0, 32.0]
    assert int(agent.train_step_counter.numpy()) == steps + 9
    stored = replay.buffer.gather_all()  # (rows, iterations kept, steps, ...)
    kept = {tuple(stored.action[:, i].numpy().ravel()) for i in range(2)}
    assert kept == {tuple(r.action.numpy().ravel()) for r in runs[1:]}
    sampled = replay.sample(16)
    assert sampled.step_type.shape == (16, 3)
    np.testing.assert_array_equal(sampled.step_type[:, 0], ts.StepType.FIRST)  # whole episodes
    np.testing.assert_array_equal(sampled.next_step_type[:, 1], ts.StepType.LAST)


def test_episode_replay_samples_what_it_holds_now(toy):
    """Capacity 1: after a second add, every sample is from the second batch (its rewards),
    drawn through the same sampler; a batch of another length is refused."""
    env = toy.make_env(max_new_tokens=3)
    spec = LMPolicy(toy.tiny_lm(), *tf_specs(env)).trajectory_spec
    replay = EpisodeReplay(spec, 2, 4, capacity=1)
    with pytest.raises(ValueError, match="empty"):
        replay.sample(4)

    def batch(reward):
        actions = np.array([[5, 2, 0], [4, 4, 2]], np.int32)
        return episodes_to_trajectory([[1], [1]], actions, np.zeros((2, 3), np.float32),
                                      [2, 3], [reward, reward], 4, 0)

    replay.add(batch(1.0))
    assert set(replay.sample(8).reward.numpy().max(axis=1)) == {1.0}
    replay.add(batch(2.0))
    assert set(replay.sample(8).reward.numpy().max(axis=1)) == {2.0}
    assert replay.num_episodes() == 2
    short = tf.nest.map_structure(lambda x: x[:, :3], batch(3.0))
    with pytest.raises(ValueError, match="3 steps per row"):
        replay.add(short)


def test_bad_arguments(toy):
    env = toy.make_env()
    with pytest.raises(ValueError, match="QLearningAgent needs a value head"):
        QLearningAgent(*tf_specs(env), toy.tiny_lm(value_head=False), keras.optimizers.Adam())
    model = toy.tiny_lm()
    for options, match in (({"target": "double"}, "target must be one of"),
                           ({"target_update_tau": 0.0}, "target_update_tau"),
                           ({"n_step_update": 0}, "n_step_update"),
                           ({"td_errors_loss_fn": "l1"}, "td_errors_loss_fn"),
                           ({"epsilon": 1.5}, "epsilon must be in"),
                           ({"kl_coef": 0.0}, "kl_coef must be > 0")):
        with pytest.raises(ValueError, match=match):
            QLearningAgent(*tf_specs(env), model, keras.optimizers.Adam(),
                           **{"kl_coef": 0.1, **options})
