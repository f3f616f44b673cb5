"""LMPolicy: a Keras 3 DecoderLM as a TF-Agents TFPolicy over TokenEnvironment observations.

`_distribution` runs the model on the observed prefix (one full forward per token: the
naive path) and returns a tfp Categorical over the next token; `sample_continuations`
draws whole continuations from the same distribution with tfllm.generation's KV-cache
decoding loop, one XLA program (the fast path used by `CachedSamplingDriver`).
Exploration: sampling temperature and epsilon-greedy mixing,
p = (1 - epsilon) softmax(logits / T) + epsilon / V: with probability epsilon a uniformly
random token, else a sample from softmax(logits / T) (TF-Agents' EpsilonGreedyPolicy mixes
the uniform draw with the greedy action instead: the limit T -> 0 here). Both paths sample
from that distribution (the cached one runs the decoding loop over an adapter whose logits
are its log-probs), and the log-probabilities of the chosen actions under it go to the
policy info. epsilon lives in a tf.Variable: `policy.epsilon = value` (a schedule) reaches
the compiled samplers.
"""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from tf_agents.policies import tf_policy
from tf_agents.trajectories import policy_step

from tfllm.generation import sample_tokens
from tfllm.generation.adapters import make_adapter
from tfllm.generation.decoding import decode, setup


def prefix_logits(model, observation):
    """The next-token logits (batch, vocab) the model decodes with after each observed
    prefix (an ILQLModel's: perturbed by its advantages, as `generate` samples)."""
    _, hidden = model.call_with_hidden(observation["tokens"])
    hidden = tf.gather(hidden, observation["length"] - 1, batch_dims=1)
    return make_adapter(model).logits(hidden)


class LMPolicy(tf_policy.TFPolicy):
    """Samples the next token from a DecoderLM.

    Args:
        model: a tfllm DecoderLM, or an ILQLModel (sampled as it decodes: the LM's
            log-probs plus beta times its advantages).
        time_step_spec, action_spec: from the (TF) TokenEnvironment.
        temperature: > 0, divides the logits.
        epsilon: in [0, 1], probability mass spread uniformly over the vocabulary (1: every
            token uniformly at random).
        jit_compile: compile `sample_continuations` with XLA.
    """

    def __init__(self, model, time_step_spec, action_spec, temperature=1.0, epsilon=0.0,
                 jit_compile=True, name=None):
        if not temperature > 0:
            raise ValueError(f"LMPolicy: temperature must be > 0, got {temperature!r}")
        super().__init__(time_step_spec, action_spec, emit_log_probability=True, clip=False,
                         name=name)
        # tf.Module does not track Keras 3 variables: keep the tf.Variables for PolicySaver,
        # and hold the model itself outside TF tracking (SavedModel would try to trace it).
        self._model_variables = [v.value for v in model.variables]
        self._untracked = _Untracked(model)
        self.temperature = float(temperature)
        self.epsilon_variable = tf.Variable(0.0, trainable=False, name="epsilon")
        self.epsilon = epsilon
        self._sampler = tf.function(self._sample, jit_compile=jit_compile, reduce_retracing=True)

    @property
    def model(self):
        """The Keras LM."""
        return self._untracked.value

    @property
    def epsilon(self):
        """The exploration rate, a Python float (settable: validated, read at run time)."""
        return float(self.epsilon_variable.numpy())

    @epsilon.setter
    def epsilon(self, value):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"LMPolicy: epsilon must be in [0, 1], got {value!r}")
        self.epsilon_variable.assign(float(value))

    def log_probs(self, logits):
        """Log-probabilities (batch, vocab) of the exploration distribution.

        log((1 - eps) softmax(logits / T) + eps / V) as a log-sum-exp of the two terms:
        exactly log_softmax(logits / T) at eps = 0, exactly -log V at eps = 1.
        """
        log_p = tf.nn.log_softmax(tf.cast(logits, tf.float32) / self.temperature, axis=-1)
        epsilon = tf.convert_to_tensor(self.epsilon_variable)
        uniform = tf.math.log(epsilon / tf.cast(tf.shape(logits)[-1], tf.float32))
        terms = [tf.math.log(1.0 - epsilon) + log_p, tf.broadcast_to(uniform, tf.shape(log_p))]
        return tf.reduce_logsumexp(tf.stack(terms), axis=0)

    def _variables(self):
        return self._model_variables

    def _distribution(self, time_step, policy_state):
        logits = prefix_logits(self.model, time_step.observation)
        distribution = tfp.distributions.Categorical(logits=self.log_probs(logits),
                                                     dtype=tf.int32)
        return policy_step.PolicyStep(distribution, policy_state, ())

    def sample_continuations(self, prompts, max_new_tokens, eos_id, pad_id, seed):
        """Samples whole continuations with a KV cache in one XLA program.

        epsilon 0: tfllm.generation.sample_tokens at the temperature; epsilon > 0: the same
        decoding loop on the epsilon mixture (`log_probs`).

        Args:
            prompts: list of token-id lists (lengths may differ).
            max_new_tokens: Python int, the most tokens per continuation.
            eos_id: stops a row (kept as its last action); None never stops.
            pad_id: fills a row after its end.
            seed: (2,) int32 stateless seed.

        Returns:
            numpy (actions int32 (batch, max_new_tokens), log_probs float32 (batch,
            max_new_tokens) of the actions under the sampling distribution, 0 past the
            end, num_actions int32 (batch,)).
        """
        lengths = np.array([len(p) for p in prompts], np.int32)
        if lengths.max() + max_new_tokens > self.model.max_sequence_length:
            raise ValueError(f"prompt length {lengths.max()} + max_new_tokens {max_new_tokens} "
                             f"exceeds the model's max_sequence_length "
                             f"{self.model.max_sequence_length}")
        ids = np.full((len(prompts), lengths.max()), pad_id, np.int32)
        for i, prompt in enumerate(prompts):
            ids[i, :len(prompt)] = prompt
        stop = () if eos_id is None else (int(eos_id),)
        out = self._sampler(tf.constant(ids), tf.constant(lengths), int(max_new_tokens), stop,
                            int(pad_id), tf.convert_to_tensor(seed, tf.int32), self.epsilon > 0)
        return tuple(x.numpy() for x in out)

    def _sample(self, ids, lengths, max_new_tokens, stop_token_ids, pad_id, seed, explore):
        if explore:  # the loop of sample_tokens over logits = this policy's log-probs
            adapter, ids, lengths = setup(self.model, ids, lengths)
            out = decode(_Exploring(adapter, self.log_probs), ids, lengths, max_new_tokens,
                         greedy=False, temperature=1.0, seed=seed,
                         stop_token_ids=stop_token_ids, pad_token_id=pad_id)
        else:
            out = sample_tokens(self.model, ids, lengths, max_new_tokens,
                                temperature=self.temperature, seed=seed,
                                stop_token_ids=stop_token_ids, pad_token_id=pad_id)
        positions = lengths[:, None] + tf.range(max_new_tokens)[None, :]
        actions = tf.gather(out["token_ids"], positions, batch_dims=1)
        log_probs = tf.gather(out["log_probs"], positions, batch_dims=1)
        num_actions = out["lengths"] - lengths
        actions = tf.where(tf.range(max_new_tokens)[None, :] < num_actions[:, None], actions,
                           pad_id)
        return actions, log_probs, num_actions


class _Exploring:
    """A decoding adapter (tfllm.generation.adapters) whose logits are `transform(logits)`."""

    def __init__(self, adapter, transform):
        self.adapter = adapter
        self.transform = transform

    def prefill(self, token_ids, cache_length):
        return self.adapter.prefill(token_ids, cache_length)

    def step(self, token_ids, state, index):
        logits, state = self.adapter.step(token_ids, state, index)
        return self.transform(logits), state

    def logits(self, hidden):
        return self.transform(self.adapter.logits(hidden))


class _Untracked:
    """A plain holder: tf.Module attributes of this type are not tracked or saved."""

    def __init__(self, value):
        self.value = value
