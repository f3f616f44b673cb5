"""LMPolicy: a Keras 3 DecoderLM as a TF-Agents TFPolicy over TokenEnvironment observations.

`_distribution` runs the model on the observed prefix (one full forward per token: the
naive path) and returns a tfp Categorical over the next token; `sample_continuations`
draws whole continuations from the same distribution with the model's KV cache in one
XLA-compiled loop (the fast path used by `CachedSamplingDriver`). Exploration: sampling
temperature and epsilon-greedy mixing, p = (1 - epsilon) softmax(logits / T) + epsilon / V.
Log-probabilities of the chosen actions under that distribution go to the policy info.
"""

import tensorflow as tf
import tensorflow_probability as tfp
from tf_agents.policies import tf_policy
from tf_agents.trajectories import policy_step

from tfllm.generation.sampling import gumbel_argmax


def prefix_logits(model, observation):
    """The model's next-token logits (batch, vocab) after each observed prefix."""
    tokens = observation["tokens"]
    logits = model(tokens)
    return tf.gather(logits, observation["length"] - 1, batch_dims=1)


class LMPolicy(tf_policy.TFPolicy):
    """Samples the next token from a DecoderLM.

    Args:
        model: a tfllm DecoderLM (or any Keras LM with `call_with_cache`).
        time_step_spec, action_spec: from the (TF) TokenEnvironment.
        temperature: > 0, divides the logits.
        epsilon: in [0, 1), probability mass spread uniformly over the vocabulary.
        jit_compile: compile `sample_continuations` with XLA.
    """

    def __init__(self, model, time_step_spec, action_spec, temperature=1.0, epsilon=0.0,
                 jit_compile=True, name=None):
        if not temperature > 0:
            raise ValueError(f"LMPolicy: temperature must be > 0, got {temperature!r}")
        if not 0.0 <= epsilon < 1.0:
            raise ValueError(f"LMPolicy: epsilon must be in [0, 1), got {epsilon!r}")
        super().__init__(time_step_spec, action_spec, emit_log_probability=True, clip=False,
                         name=name)
        self.model = model
        # tf.Module does not track Keras 3 variables: keep the tf.Variables for PolicySaver.
        self._model_variables = [v.value for v in model.variables]
        self.temperature = float(temperature)
        self.epsilon = float(epsilon)
        self._sampler = tf.function(self._sample, jit_compile=jit_compile, reduce_retracing=True)

    def log_probs(self, logits):
        """Log-probabilities (batch, vocab) of the exploration distribution."""
        log_p = tf.nn.log_softmax(tf.cast(logits, tf.float32) / self.temperature, axis=-1)
        if self.epsilon == 0.0:
            return log_p
        uniform = self.epsilon / tf.cast(tf.shape(logits)[-1], tf.float32)
        return tf.math.log((1.0 - self.epsilon) * tf.exp(log_p) + uniform)

    def _variables(self):
        return self._model_variables

    def _distribution(self, time_step, policy_state):
        logits = prefix_logits(self.model, time_step.observation)
        distribution = tfp.distributions.Categorical(logits=self.log_probs(logits),
                                                     dtype=tf.int32)
        return policy_step.PolicyStep(distribution, policy_state, ())

    def sample_continuations(self, prompt_ids, max_new_tokens, eos_id, pad_id, seed):
        """Samples continuations of equal-length prompts with the KV cache.

        Args:
            prompt_ids: int32 (batch, prompt_length).
            max_new_tokens: Python int, the most tokens per continuation.
            eos_id: stops a row (kept as its last action); None never stops.
            pad_id: fills a row after its EOS.
            seed: (2,) int32 stateless seed.

        Returns:
            (actions int32 (batch, max_new_tokens), log_probs float32 (batch,
            max_new_tokens) under the exploration distribution, 0 past the end,
            num_actions int32 (batch,)).
        """
        prompt_ids = tf.convert_to_tensor(prompt_ids, tf.int32)
        total = prompt_ids.shape[1] + max_new_tokens
        if total > self.model.max_sequence_length:
            raise ValueError(f"prompt length {prompt_ids.shape[1]} + max_new_tokens "
                             f"{max_new_tokens} exceeds the model's max_sequence_length "
                             f"{self.model.max_sequence_length}")
        eos = -1 if eos_id is None else int(eos_id)
        return self._sampler(prompt_ids, int(max_new_tokens), tf.constant(eos),
                             tf.constant(pad_id, tf.int32), tf.convert_to_tensor(seed, tf.int32))

    def _sample(self, prompt_ids, max_new_tokens, eos_id, pad_id, seed):
        batch = tf.shape(prompt_ids)[0]
        prompt_length = tf.shape(prompt_ids)[1]
        cache = self.model.init_cache(batch, prompt_ids.shape[1] + max_new_tokens)
        logits, _, cache = self.model.call_with_cache(prompt_ids, cache, 0)
        actions = tf.fill([batch, max_new_tokens], pad_id)
        log_probs = tf.zeros([batch, max_new_tokens], tf.float32)
        done = tf.zeros([batch], tf.bool)
        columns = tf.range(max_new_tokens)[None, :]

        def body(i, logits, cache, actions, log_probs, done):
            log_p = self.log_probs(logits[:, -1])
            token = gumbel_argmax(log_p, tf.random.experimental.stateless_fold_in(seed, i))
            token_log_p = tf.gather(log_p, token[:, None], batch_dims=1)[:, 0]
            token = tf.where(done, pad_id, token)
            here = tf.equal(columns, i) & ~done[:, None]
            actions = tf.where(here, token[:, None], actions)
            log_probs = tf.where(here, token_log_p[:, None], log_probs)
            done = done | tf.equal(token, eos_id)
            logits, _, cache = self.model.call_with_cache(token[:, None], cache,
                                                          prompt_length + i)
            return i + 1, logits, cache, actions, log_probs, done

        def cond(i, logits, cache, actions, log_probs, done):
            return (i < max_new_tokens) & ~tf.reduce_all(done)

        _, _, _, actions, log_probs, done = tf.while_loop(
            cond, body, (tf.constant(0), logits[:, -1:], cache, actions, log_probs, done),
            shape_invariants=(tf.TensorShape([]), tf.TensorShape([None, 1, None]),
                              cache.shape, actions.shape, log_probs.shape, done.shape))
        is_eos = tf.equal(actions, eos_id)
        first_eos = tf.argmax(tf.cast(is_eos, tf.int32), axis=1, output_type=tf.int32)
        num_actions = tf.where(tf.reduce_any(is_eos, axis=1), first_eos + 1, max_new_tokens)
        return actions, log_probs, num_actions

