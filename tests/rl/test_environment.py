"""TokenEnvironment episodes: observations, EOS and length limits, rewards, bad input."""

import numpy as np
import pytest

from tfllm.rl.environment import TokenEnvironment


def test_episode_ends_at_eos_with_reward_on_the_response(toy):
    env = TokenEnvironment([[1, 7]], 8, 5, toy.target_fraction, eos_id=2)
    step = env.reset()
    assert step.is_first() and step.observation["length"] == 2
    np.testing.assert_array_equal(step.observation["tokens"], [1, 7, 0, 0, 0, 0, 0])
    for token in (5, 3):
        step = env.step(np.int32(token))
        assert step.is_mid() and step.reward == 0.0 and step.discount == 1.0
    step = env.step(np.int32(2))
    assert step.is_last() and step.discount == 0.0
    assert step.reward == pytest.approx(0.5)  # response [5, 3] without EOS
    np.testing.assert_array_equal(step.observation["tokens"][:5], [1, 7, 5, 3, 2])
    assert env.step(np.int32(4)).is_first()  # auto-reset after the end


def test_episode_ends_at_max_new_tokens(toy):
    env = TokenEnvironment([[1]], 8, 3, toy.target_fraction, eos_id=2)
    env.reset()
    steps = [env.step(np.int32(5)) for _ in range(3)]
    assert [s.is_last() for s in steps] == [False, False, True]
    assert steps[-1].reward == pytest.approx(1.0)


@pytest.mark.parametrize("prompts, match", [([], "prompts is empty"), ([[1], []], "prompt 1")])
def test_bad_prompts(prompts, match, toy):
    with pytest.raises(ValueError, match=match):
        TokenEnvironment(prompts, 8, 3, toy.target_fraction)


def test_seed_restarts_the_prompt_draw(toy):
    prompts = [[1, i] for i in range(3, 8)]
    env = TokenEnvironment(prompts, 8, 3, toy.target_fraction, seed=11)
    first = env.sample_prompts(20)
    assert env.sample_prompts(20) != first  # the sampler moves on
    env.seed(11)
    assert env.sample_prompts(20) == first
    env.seed(12)
    assert env.sample_prompts(20) == TokenEnvironment(prompts, 8, 3, toy.target_fraction,
                                                      seed=12).sample_prompts(20)
