"""Text in, text out, all in the graph: tokenize, generate over a KV cache, detokenize.

`TextGenerationFunction(model, tokenizer, ...)(prompt, max_new_tokens, temperature,
top_k, top_p, seed)` takes only tensors, so it traces into a SavedModel: the
tokenizer's `tf_encode`/`tf_decode` (tensorflow-text or tf.strings ops) and the
generation package's traceable `decode` loop. Every sampler setting is a runtime
input: temperature <= 0 selects greedy decoding (a tf.cond between the two loops);
top_k (0 = off) is applied to the logits the loop sees, top_p inside the loop, and
max_new_tokens only bounds the loop (the KV cache has a static size).
"""

import tensorflow as tf

from tfllm.generation.decoding import decode, is_seq2seq, setup
from tfllm.generation.sampling import apply_ban, banned_mask


def checked_prompt(prompt):
    """`prompt`, checked at run time to be 1-D.

    A SavedModel signature checks the dtype of its inputs (a non-string `prompt` fails
    before the graph runs, with TensorFlow's "expected to be a string tensor but is a
    int32 tensor") but not their rank. A tf.debugging.Assert on the rank (tf.rank, or
    the Size of tf.shape) never fired in a loaded SavedModel: the graph was traced with
    the static shape (None,), from which the rank is constant. EnsureShape is a kernel
    that checks the run-time shape, so a scalar or 2-D prompt fails with "Shape of
    tensor prompt [] is not compatible with expected shape [?]" at node
    prompt_must_be_1d, instead of "input must be a vector" deep in the tokenizer.
    """
    return tf.ensure_shape(prompt, [None], name="prompt_must_be_1d")


class ServingAdapter:
    """Wraps a generation adapter for runtime settings: the KV cache always has the
    model's max_sequence_length slots (a static shape whatever max_new_tokens is; slots
    past the current position are masked), and logits keep only the top `k` allowed
    (not banned) tokens per row."""

    def __init__(self, adapter, k, cache_length, ban):
        self.adapter = adapter
        self.k = k
        self.cache_length = cache_length
        self.ban = ban

    def _filter(self, logits):
        logits = apply_ban(logits, self.ban)
        vocabulary_size = logits.shape[-1]
        k = tf.where(self.k > 0, tf.minimum(self.k, vocabulary_size), vocabulary_size)
        threshold = tf.gather(tf.sort(logits, axis=-1, direction="DESCENDING"), k - 1, axis=-1)
        return tf.where(logits < threshold[:, None], tf.cast(float("-inf"), logits.dtype),
                        logits)

    def prefill(self, token_ids, cache_length):
        del cache_length  # the loop's own length varies with max_new_tokens
        return self.adapter.prefill(token_ids, self.cache_length)

    def step(self, token_ids, state, index):
        logits, state = self.adapter.step(token_ids, state, index)
        return self._filter(logits), state

    def logits(self, hidden):
        return self._filter(self.adapter.logits(hidden))


class TextGenerationFunction:
    """The in-graph prompt -> continuation function of a DecoderLM or Seq2SeqTransformer.

    Args:
        model: a DecoderLM or Seq2SeqTransformer.
        tokenizer: a tfllm Tokenizer (its tf_encode/tf_decode run in the graph).
        add_bos: DecoderLM prompts start with <bos> (as tfllm's LM pipelines write them).
        preference: for DecoderLM(preference_dim>0), the vector every request uses.

    Generation stops at <eos>; special and control tokens other than <eos> are never
    emitted. Prompts longer than the model allows keep their last tokens (DecoderLM)
    or first tokens (Seq2Seq encoder input).
    """

    def __init__(self, model, tokenizer, add_bos=True, preference=None):
        tokenizer.check_model(model, "TextGenerator")
        self.model = model
        self.tokenizer = tokenizer
        self.seq2seq = is_seq2seq(model)
        self.add_bos = bool(add_bos)
        self.preference = None
        if preference is not None:
            self.preference = tf.constant([list(preference)], tf.float32)
            if self.preference.shape[-1] != getattr(model, "preference_dim", 0):
                raise ValueError(f"preference has {self.preference.shape[-1]} values, the "
                                 f"model has preference_dim={getattr(model, 'preference_dim', 0)}")
        elif getattr(model, "preference_dim", 0):
            raise ValueError(f"the model has preference_dim={model.preference_dim}: pass "
                             "preference=[...] to export it")
        eos = tokenizer.eos_id
        self.stop_token_ids = (eos,)
        self.banned_token_ids = tuple(i for i in tokenizer.reserved_ids if i != eos)
        self.ban = banned_mask(model.vocabulary_size, self.banned_token_ids)

    def prompt_ids(self, prompt, max_new_tokens):
        """(ids (batch, width), lengths (batch,)) of the encoded, truncated prompts."""
        ids = tf.cast(self.tokenizer.tf_encode(prompt), tf.int32)
        limit = self.model.max_sequence_length
        if self.seq2seq:
            ids = ids[:, :limit]
        else:
            if self.add_bos:
                ids = tf.concat([tf.fill([ids.nrows(), 1], self.tokenizer.bos_id), ids], axis=1)
            lengths = tf.cast(ids.row_lengths(), tf.int32)
            first_kept = lengths - (limit - max_new_tokens)
            ids = tf.ragged.boolean_mask(ids, tf.ragged.range(lengths) >= first_kept[:, None])
        return ids.to_tensor(self.tokenizer.pad_id), tf.cast(ids.row_lengths(), tf.int32)

    def __call__(self, prompt, max_new_tokens, temperature, top_k, top_p, seed):
        """Strings (batch,) -> generated continuations (batch,) as strings."""
        prompt = checked_prompt(prompt)
        limit = self.model.max_sequence_length
        max_new_tokens = tf.clip_by_value(tf.cast(max_new_tokens, tf.int32), 1,
                                          limit - (0 if self.seq2seq else 1))
        ids, lengths = self.prompt_ids(prompt, max_new_tokens)
        tf.debugging.assert_positive(lengths, "every prompt needs at least one token")
        preference = None
        if self.preference is not None:
            preference = tf.tile(self.preference, [tf.shape(ids)[0], 1])
        adapter, tokens, token_lengths = setup(self.model, ids, lengths, preference,
                                               start_token_id=self.tokenizer.bos_id)
        adapter = ServingAdapter(adapter, tf.cast(top_k, tf.int32), limit, self.ban)
        seed = tf.stack([tf.cast(seed, tf.int32), tf.constant(0, tf.int32)])

        def run(greedy):
            return decode(adapter, tokens, token_lengths, max_new_tokens, greedy=greedy,
                          temperature=temperature, top_k=0, top_p=top_p, seed=seed,
                          stop_token_ids=self.stop_token_ids, ban=self.ban,
                          pad_token_id=self.tokenizer.pad_id, with_log_probs=False)

        outputs = tf.cond(temperature > 0, lambda: run(False), lambda: run(True))
        generated = tf.ragged.boolean_mask(outputs["token_ids"], outputs["generated_mask"])
        return self.tokenizer.tf_decode(generated)

