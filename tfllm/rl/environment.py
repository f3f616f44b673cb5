"""TokenEnvironment: text generation as a TF-Agents PyEnvironment, one token per step.

Observation: {"tokens": int32 (max_length,) prompt + tokens so far, right-padded with
pad_id; "length": int32 number of real tokens}. Action: the next token id. An episode
ends when the action is eos_id or after max_new_tokens actions; the last step's reward is
`reward_fn([prompt], [response])[0]` (response = actions without the final EOS), earlier
rewards are 0. The KL penalty to a reference is applied by the agents (it needs the
policy's log-probs), not here.
"""

import numpy as np
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec, tensor_spec
from tf_agents.trajectories import time_step as ts


def check_prompts(prompts):
    """Returns prompts as a list of int lists; ValueError if empty or a prompt is empty."""
    prompts = [[int(t) for t in p] for p in prompts]
    if not prompts:
        raise ValueError("TokenEnvironment: prompts is empty; give at least one prompt")
    for i, prompt in enumerate(prompts):
        if not prompt:
            raise ValueError(f"TokenEnvironment: prompt {i} is empty (start it with BOS)")
    return prompts


def tf_specs(env):
    """(time_step_spec, action_spec) of a Python environment as TensorSpecs."""
    return (tensor_spec.from_spec(env.time_step_spec()),
            tensor_spec.from_spec(env.action_spec()))


class TokenEnvironment(py_environment.PyEnvironment):
    """Token-level generation environment.

    Args:
        prompts: list of token-id lists, sampled uniformly at each reset.
        vocabulary_size: number of actions.
        max_new_tokens: the most actions per episode.
        reward_fn: `reward_fn(prompts, responses) -> list[float]` on token-id lists.
        eos_id: ends an episode (None: only max_new_tokens does).
        pad_id: fills the observation past `length`.
        seed: seed of the prompt sampler.
    """

    def __init__(self, prompts, vocabulary_size, max_new_tokens, reward_fn, eos_id=None,
                 pad_id=0, seed=0):
        super().__init__()
        if max_new_tokens < 1:
            raise ValueError(f"TokenEnvironment: max_new_tokens must be >= 1, got {max_new_tokens}")
        self.prompts = check_prompts(prompts)
        self.vocabulary_size = int(vocabulary_size)
        self.max_new_tokens = int(max_new_tokens)
        self.max_length = max(len(p) for p in self.prompts) + self.max_new_tokens
        self.reward_fn = reward_fn
        self.eos_id = eos_id
        self.pad_id = int(pad_id)
        self._rng = np.random.default_rng(seed)
        self._observation_spec = {
            "tokens": array_spec.ArraySpec((self.max_length,), np.int32, "tokens"),
            "length": array_spec.ArraySpec((), np.int32, "length")}
        self._action_spec = array_spec.BoundedArraySpec(
            (), np.int32, 0, self.vocabulary_size - 1, "token")
        self._prompt = None
        self._tokens = None
        self._length = 0
        self._ended = True

    def observation_spec(self):
        return self._observation_spec

    def action_spec(self):
        return self._action_spec

    def seed(self, seed):
        """Restarts the prompt sampler from `seed` (the same prompts in the same order)."""
        self._rng = np.random.default_rng(seed)

    def sample_prompts(self, n):
        """`n` prompts drawn uniformly (with replacement) from the environment's prompts."""
        return [self.prompts[i] for i in self._rng.integers(len(self.prompts), size=n)]

    def rewards(self, prompts, responses):
        """Final rewards of finished episodes, as float32 numbers (one reward_fn call)."""
        rewards = [float(r) for r in self.reward_fn(prompts, responses)]
        if len(rewards) != len(responses):
            raise ValueError(f"reward_fn returned {len(rewards)} rewards for "
                             f"{len(responses)} responses")
        return rewards

    def _observation(self):
        return {"tokens": self._tokens.copy(), "length": np.int32(self._length)}

    def _reset(self):
        self._prompt = self.sample_prompts(1)[0]
        self._tokens = np.full(self.max_length, self.pad_id, np.int32)
        self._tokens[:len(self._prompt)] = self._prompt
        self._length = len(self._prompt)
        self._ended = False
        return ts.restart(self._observation())

    def _step(self, action):
        if self._ended:
            return self.reset()
        token = int(action)
        self._tokens[self._length] = token
        self._length += 1
        generated = self._length - len(self._prompt)
        if token == self.eos_id or generated == self.max_new_tokens:
            self._ended = True
            response = self._tokens[len(self._prompt):self._length].tolist()
            if token == self.eos_id:
                response = response[:-1]
            reward = self.rewards([self._prompt], [response])[0]
            return ts.termination(self._observation(), np.float32(reward))
        return ts.transition(self._observation(), np.float32(0.0), np.float32(1.0))
