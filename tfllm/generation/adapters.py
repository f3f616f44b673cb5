"""One decoding interface over DecoderLM and Seq2SeqTransformer: prefill, then steps.

`prefill(token_ids)` runs the prompt (for seq2seq: encodes the source and runs
the decoder's first tokens) and returns (hidden, state); `step(token_ids,
state, index)` runs one token per row at position `index` and returns
(logits, state). `state` is a nest of tensors (KV caches plus fixed inputs), so
it can ride in a tf.while_loop and be tiled or gathered for beam search.
An ILQLModel decodes through `ILQLAdapter`: its backbone's cache, perturbed logits.
"""

import tensorflow as tf

from tfllm.models import DecoderLM, ILQLModel, Seq2SeqTransformer


class DecoderAdapter:
    """DecoderLM: the prompt is the start of the sequence; `preference` rides along.

    `prefill` also computes the model's decoding output table once (a per-call constant,
    kept out of the per-row state that beam search tiles); `step` and `logits` use it.
    """

    def __init__(self, model, preference=None):
        self.model = model
        self.inputs = {} if preference is None else {"preference": preference}
        self.output_table = None

    def prefill(self, token_ids, cache_length):
        self.output_table = self.model.decoding_output_table()
        cache = self.model.init_cache(tf.shape(token_ids)[0], cache_length)
        _, hidden, cache = self.model.call_with_cache(token_ids, cache, 0, **self.inputs)
        return hidden, {"cache": cache, **self.inputs}

    def step(self, token_ids, state, index):
        inputs = {k: v for k, v in state.items() if k != "cache"}
        logits, _, cache = self.model.call_with_cache(token_ids[:, None], state["cache"], index,
                                                      output_table=self.output_table, **inputs)
        return logits[:, 0], {**state, "cache": cache}

    def logits(self, hidden):
        return self.model.logits(hidden, self.output_table)


class ILQLAdapter:
    """ILQLModel: its DecoderLM backbone's cached decoding, with the logits replaced by
    log_softmax(LM logits) + beta * (min_i Qhat_i(s, .) - V(s)) from the same step's
    hidden state (Snell et al. 2022's policy extraction; `ILQLModel.advantages`).

    `beta`: a float or a scalar tensor (a runtime input of `generate`); default the
    model's `beta`. With beta = 0 every sampler decodes as the backbone (log_softmax
    only shifts each row's logits by a constant).
    """

    def __init__(self, model, preference=None, beta=None):
        self.model = model
        self.inner = DecoderAdapter(model.backbone, preference)
        self.beta = model.beta if beta is None else beta

    def prefill(self, token_ids, cache_length):
        return self.inner.prefill(token_ids, cache_length)

    def step(self, token_ids, state, index):
        inputs = {k: v for k, v in state.items() if k != "cache"}
        logits, hidden, cache = self.model.backbone.call_with_cache(
            token_ids[:, None], state["cache"], index, output_table=self.inner.output_table,
            **inputs)
        return self._perturb(logits[:, 0], hidden[:, 0]), {**state, "cache": cache}

    def logits(self, hidden):
        return self._perturb(self.inner.logits(hidden), hidden)

    def _perturb(self, logits, hidden):
        beta = tf.cast(self.beta, tf.float32)
        return tf.nn.log_softmax(logits, axis=-1) + beta * self.model.advantages(hidden)


class Seq2SeqAdapter:
    """Seq2SeqTransformer: encodes `encoder_token_ids` once; the prompt is the target start."""

    def __init__(self, model, encoder_token_ids, encoder_padding_mask=None):
        self.model = model
        self.encoder_token_ids = encoder_token_ids
        if encoder_padding_mask is None:
            encoder_padding_mask = tf.ones(tf.shape(encoder_token_ids), tf.bool)
        self.encoder_padding_mask = tf.cast(encoder_padding_mask, tf.bool)

    def prefill(self, token_ids, cache_length):
        encoded = self.model.encode(self.encoder_token_ids, self.encoder_padding_mask)
        cache = self.model.init_cache(encoded, cache_length)
        _, hidden, cache = self.model.call_with_cache(
            token_ids, cache, 0, encoder_padding_mask=self.encoder_padding_mask)
        return hidden, {"cache": cache, "encoder_padding_mask": self.encoder_padding_mask}

    def step(self, token_ids, state, index):
        logits, _, cache = self.model.call_with_cache(
            token_ids[:, None], state["cache"], index,
            encoder_padding_mask=state["encoder_padding_mask"])
        return logits[:, 0], {**state, "cache": cache}

    def logits(self, hidden):
        return self.model.logits(hidden)


def make_adapter(model, preference=None, encoder_token_ids=None, encoder_padding_mask=None,
                 ilql_beta=None):
    """The adapter for `model`; ValueError for other model types or misplaced inputs.

    `ilql_beta`: an ILQLModel's decoding beta (default its own `beta`).
    """
    if ilql_beta is not None and not isinstance(model, ILQLModel):
        raise ValueError(f"ilql_beta is only for an ILQLModel, not {type(model).__name__}")
    if isinstance(model, ILQLModel):
        inner = make_adapter(model.backbone, preference, encoder_token_ids,
                             encoder_padding_mask)
        return ILQLAdapter(model, inner.inputs.get("preference"), ilql_beta)
    if isinstance(model, Seq2SeqTransformer):
        if preference is not None:
            raise ValueError("preference is only for DecoderLM(preference_dim>0), "
                             "not Seq2SeqTransformer")
        return Seq2SeqAdapter(model, encoder_token_ids, encoder_padding_mask)
    if isinstance(model, DecoderLM):
        if encoder_padding_mask is not None:
            raise ValueError("encoder_padding_mask is only for Seq2SeqTransformer, "
                             "not DecoderLM")
        if model.preference_dim and preference is None:
            raise ValueError(f"model has preference_dim={model.preference_dim}: pass "
                             f"preference of shape (batch, {model.preference_dim})")
        if preference is not None:
            if not model.preference_dim:
                raise ValueError("preference given but the model has preference_dim=0")
            preference = tf.cast(preference, model.compute_dtype)
            if preference.shape.rank != 2 or preference.shape[-1] != model.preference_dim:
                raise ValueError(f"preference has shape {tuple(preference.shape)}, expected "
                                 f"(batch, {model.preference_dim})")
        return DecoderAdapter(model, preference)
    raise ValueError(f"cannot generate with {type(model).__name__}: expected a DecoderLM, "
                     "an ILQLModel or a Seq2SeqTransformer")
