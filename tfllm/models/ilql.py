"""ILQLModel: a DecoderLM with the Q, target-Q and V heads of Implicit Language Q-Learning.

Snell et al. 2022, "Offline RL for Natural Language Generation with Implicit Language Q
Learning" (arXiv:2206.11871): on the LM's final hidden state h_t of state s_t (the prefix
up to token t) two Q heads give Q_i(s_t, .) over the vocabulary (double Q), a V head
V(s_t), and target copies of the Q heads follow the Q heads by Polyak averaging
(`update_target_heads`). Decoding perturbs the LM (the paper's policy extraction):

    log pi(a | s) = log_softmax(LM logits)(a) + beta * (min_i Qhat_i(s, a) - V(s))

with Qhat the target heads, as CarperAI trlx's ILQL does (its `generate`: the minimum
of the two target heads), and the same minimum the V head is trained towards
(tfllm.objectives.ilql). `generate(model, ...)` decodes so (`ilql_beta` overrides
`beta`); `model(inputs)` returns the LM's logits, so LM evaluation works unchanged.

The paper fine-tunes the behaviour LM, the Q/V transformer and its Polyak-averaged
target copy as three transformers; like trlx this shares one transformer, whose LM
head keeps the NLL term (tfllm.objectives.ilql), and averages only the Q heads.
"""

import keras
from keras import ops

from tfllm.layers import clone_initializer
from tfllm.models.decoder_lm import DecoderLM

HEAD_INITIALIZER = keras.initializers.RandomNormal(stddev=0.02)  # the LM's own init


def replica_variable(scope, name, shape, initializer, dtype):
    """A non-trainable variable at path "<scope>/<name>" (add_weight's), synchronized
    on read with the first replica's value kept (Layer.add_weight takes no
    synchronization; a layer tracks the variable once it is set as its attribute)."""
    with keras.name_scope(scope):
        return keras.Variable(keras.initializers.get(initializer), shape=shape, dtype=dtype,
                              trainable=False, name=name, synchronization="on_read",
                              aggregation="only_first_replica")


class LinearHead(keras.layers.Layer):
    """hidden @ kernel + bias (a Dense layer) whose weights can be `on_read` replicas.

    The target heads' are: the objective updates them inside the Trainer's compiled
    per-replica gradient function, where assigning a mirrored variable would need a
    cross-replica merge (unsupported inside a nested tf.function). Each replica makes
    the same update from the same mirrored online weights, so its local copy is exact;
    reads outside a replica see the first replica's.
    """

    def __init__(self, units, hidden_dim, on_read=False, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.on_read = bool(on_read)
        self.kernel = self._weight("kernel", (hidden_dim, units),
                                   clone_initializer(HEAD_INITIALIZER))
        self.bias = self._weight("bias", (units,), "zeros")
        self.built = True

    def _weight(self, name, shape, initializer):
        if not self.on_read:
            return self.add_weight(shape=shape, name=name, initializer=initializer)
        return replica_variable(self.name, name, shape, initializer, self.variable_dtype)

    def call(self, hidden):
        return ops.matmul(hidden, ops.cast(self.kernel, hidden.dtype)) + ops.cast(
            self.bias, hidden.dtype)


@keras.saving.register_keras_serializable(package="tfllm")
class ILQLModel(keras.Model):
    """A DecoderLM backbone with ILQL heads on its final hidden states.

    Args:
        backbone: a DecoderLM (or its serialized config).
        beta: the decoding advantage weight (trlx's default_ilql_config: gen_kwargs
            beta 1; 4 in its earlier versions). 0 decodes as the LM.

    Heads (LinearHead, i.e. Dense): `q_head_1`, `q_head_2` (vocabulary_size outputs, each
    its own N(0, 0.02) draw, so the two estimates differ), `v_head` (1 output), and
    non-trainable `target_q_head_1/2`, copies of the Q heads at construction.
    `target_updates` counts `update_target_heads` calls (checkpointed with the weights).
    trlx uses two-layer MLP heads; these are linear, like tfllm's ValueHead.

    Example:
        >>> model = ILQLModel(DecoderLM.from_preset("tiny", vocabulary_size=300))
        >>> model(np.zeros((2, 8), "int32")).shape
        (2, 8, 300)
    """

    def __init__(self, backbone, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(backbone, dict):
            backbone = keras.saving.deserialize_keras_object(backbone)
        if not isinstance(backbone, DecoderLM):
            raise ValueError(f"ILQLModel backbone must be a DecoderLM, got "
                             f"{type(backbone).__name__}")
        self.backbone = backbone
        self.beta = float(beta)
        vocabulary, hidden = backbone.vocabulary_size, backbone.hidden_dim

        def head(units, name, on_read=False):
            return LinearHead(units, hidden, on_read, name=name, dtype=self.dtype_policy)

        self.q_heads = [head(vocabulary, f"q_head_{i}") for i in (1, 2)]
        self.target_q_heads = [head(vocabulary, f"target_q_head_{i}", on_read=True)
                               for i in (1, 2)]
        self.v_head = head(1, "v_head")
        for target, online in zip(self.target_q_heads, self.q_heads):
            target.set_weights(online.get_weights())
        # Per replica like the targets (see LinearHead).
        self.target_updates = replica_variable(self.name, "target_updates", (), "zeros",
                                               "int64")
        self.built = True

    # The decoding and data checks read these like a DecoderLM's.
    @property
    def vocabulary_size(self):
        return self.backbone.vocabulary_size

    @property
    def max_sequence_length(self):
        return self.backbone.max_sequence_length

    @property
    def hidden_dim(self):
        return self.backbone.hidden_dim

    @property
    def preference_dim(self):
        return self.backbone.preference_dim

    def call(self, inputs, training=None):
        return self.backbone(inputs, training=training)

    def call_with_hidden(self, inputs, training=None):
        """(LM logits, final hidden states), as `DecoderLM.call_with_hidden`."""
        return self.backbone.call_with_hidden(inputs, training=training)

    def q_values(self, hidden):
        """[Q_1, Q_2], each float32 (..., vocabulary_size)."""
        return [ops.cast(head(hidden), "float32") for head in self.q_heads]

    def values(self, hidden):
        """V float32 (...,)."""
        return ops.cast(self.v_head(hidden), "float32")[..., 0]

    def target_q_values(self, hidden, actions=None):
        """[Qhat_1, Qhat_2]: float32 (..., vocabulary_size), or with `actions` (int, the
        shape of hidden's leading axes) only the actions' values (...,), each from the
        action's kernel column (no full-vocabulary matmul)."""
        out = []
        for head in self.target_q_heads:
            if actions is None:
                out.append(ops.cast(head(hidden), "float32"))
                continue
            actions = ops.cast(actions, "int32")
            kernel = ops.take(ops.transpose(head.kernel), actions, axis=0)
            value = ops.sum(ops.cast(hidden, kernel.dtype) * kernel, axis=-1)
            out.append(ops.cast(value + ops.take(head.bias, actions), "float32"))
        return out

    def advantages(self, hidden):
        """min_i Qhat_i(s, .) - V(s): float32 (..., vocabulary_size), the decoding term."""
        first, second = self.target_q_values(hidden)
        return ops.minimum(first, second) - self.values(hidden)[..., None]

    def update_target_heads(self, alpha, every=1):
        """One Polyak step: counts a call, and on every `every`-th call sets each target
        weight to alpha * online + (1 - alpha) * target (trlx's `sync_target_q_heads`:
        alpha weighs the online head). Traceable; returns the new count."""
        count = self.target_updates.assign_add(1)
        rate = ops.where(ops.equal(count % int(every), 0), float(alpha), 0.0)
        for target, head in zip(self.target_q_heads, self.q_heads):
            for t, w in zip(target.weights, head.weights):
                t.assign(t + ops.cast(rate, t.dtype) * (w - t))
        return count

    def get_config(self):
        config = super().get_config()
        config.update(backbone=keras.saving.serialize_keras_object(self.backbone),
                      beta=self.beta)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
