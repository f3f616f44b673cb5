"""Held-out policy evaluation: the KL read from the sampler equals the agent's recomputed KL;
an ILQLModel is sampled as it decodes."""

import keras
import numpy as np

from tfllm.models import DecoderLM, ILQLModel
from tfllm.rl import CachedSamplingDriver, LMPolicy, ReinforceAgent, tf_specs
from tfllm.rl import trajectories
from tfllm.rl.evaluation import episode_statistics, evaluate_policy, sampled_statistics
from tfllm.rl.policy import prefix_logits


def test_episode_statistics_by_hand(toy):
    """Two finished episodes (2 and 1 actions) with rewards 1 and 3 and per-step KLs."""
    env = toy.make_env(max_new_tokens=2)
    policy = LMPolicy(toy.tiny_lm(), *tf_specs(env))
    experience, _ = CachedSamplingDriver(env, policy, (), num_episodes=2).run()
    # rewrite the sampled batch into the hand-made one: row 0 acts twice, row 1 once
    step_type = np.array([[0, 1, 2], [0, 2, 0]])
    next_step_type = np.array([[1, 2, 0], [2, 0, 1]])
    experience = experience._replace(
        step_type=step_type, next_step_type=next_step_type,
        reward=np.array([[0.0, 1.0, 0.0], [3.0, 0.0, 0.0]], np.float32),
        discount=np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], np.float32))
    _, complete = trajectories.step_masks(experience)
    kl = np.array([[0.5, 0.25, 9.0], [1.0, 9.0, 9.0]], np.float32)
    stats = {k: float(v) for k, v in episode_statistics(experience, kl, complete).items()}
    assert stats == {"mean_reward": 2.0, "reward_std": 1.0, "kl_to_reference": 0.875,
                     "response_length": 1.5}


def test_the_kl_from_sampled_log_probs_equals_the_agents(toy):
    """A policy 10 REINFORCE iterations away from its reference: sampled_statistics (policy
    log-probs as sampled, XLA) and the agent's statistics (recomputed) agree."""
    env = toy.make_env()
    agent = ReinforceAgent(*tf_specs(env), toy.tiny_lm(), keras.optimizers.Adam(1e-2))
    driver = CachedSamplingDriver(env, agent.collect_policy, (), num_episodes=16)
    for _ in range(10):
        agent.train(driver.run()[0])
    ours = evaluate_policy(agent.collect_policy, env, 64, 3, _Ids(), agent.statistics)
    sampled = evaluate_policy(
        agent.collect_policy, env, 64, 3, _Ids(),
        lambda e: sampled_statistics(e, agent.reference_model))
    assert ours["kl_to_reference"] > 0.1
    assert ours["rewards"] == sampled["rewards"]
    for key in ("mean_reward", "reward_std", "response_length"):
        assert sampled[key] == ours[key]
    np.testing.assert_allclose(sampled["kl_to_reference"], ours["kl_to_reference"], rtol=1e-4)
    assert sampled["samples"][0] == str([1] + _first_response(agent, env))


def _first_response(agent, env):
    _, info = CachedSamplingDriver(env, agent.collect_policy, (), num_episodes=64, seed=3).run()
    return info["responses"][0]


class _Ids:
    """A tokenizer stand-in whose text is the id list."""

    def decode(self, ids):
        return str(list(ids))


def test_an_ilql_policy_samples_its_perturbed_distribution(toy):
    """LMPolicy over an ILQLModel: the per-token distribution is log_softmax(LM) + beta * (min
    Qhat - V), and the cached sampler records those log-probs."""
    keras.utils.set_random_seed(1)
    model = ILQLModel(DecoderLM(8, num_layers=1, num_heads=2, hidden_dim=16,
                                intermediate_dim=32, max_sequence_length=16), beta=3.0)
    for head in model.target_q_heads:  # large advantages, so the perturbation shows
        head.kernel.assign(head.kernel * 100.0)
    env = toy.make_env()
    policy = LMPolicy(model, *tf_specs(env))
    tokens = np.array([[1, 5, 3, 0], [1, 4, 0, 0]], np.int32)
    logits = prefix_logits(model, {"tokens": tokens, "length": np.array([3, 2], np.int32)})
    _, hidden = model.backbone.call_with_hidden(tokens)
    hidden = np.stack([hidden[0, 2], hidden[1, 1]])
    expected = keras.ops.log_softmax(model.backbone.logits(hidden)) + 3.0 * model.advantages(
        hidden)
    np.testing.assert_allclose(logits, expected, atol=1e-5)
    plain = keras.ops.log_softmax(model.backbone.logits(hidden))
    assert np.abs(keras.ops.log_softmax(expected) - plain).max() > 0.5
    experience, _ = CachedSamplingDriver(env, policy, (), num_episodes=8).run()
    valid = experience.step_type.numpy() != 2
    observation = {k: v.numpy()[valid] for k, v in experience.observation.items()}
    log_p = keras.ops.log_softmax(prefix_logits(model, observation))
    taken = np.take_along_axis(np.asarray(log_p), experience.action.numpy()[valid][:, None], 1)
    np.testing.assert_allclose(experience.policy_info.log_probability.numpy()[valid],
                               taken[:, 0], atol=1e-4)
