"""generate(): cached decoding vs full recompute, samplers, stop/ban/pad, ragged batches, errors."""

import numpy as np
import pytest
import tensorflow as tf

from tfllm.generation import generate, sample_tokens
from tfllm.models import DecoderLM, Seq2SeqTransformer

VOCAB = 61


@pytest.fixture(scope="module")
def model():
    import keras
    keras.utils.set_random_seed(7)
    return DecoderLM.from_preset("tiny", vocabulary_size=VOCAB, max_sequence_length=24)


def prompts(batch=3, length=4, seed=0):
    return np.random.default_rng(seed).integers(3, VOCAB, (batch, length)).astype("int32")


def greedy_by_recompute(model, prompt, new_tokens, preference=None):
    """Greedy continuation and per-token log-probs, running the whole prefix every step."""
    sequence, log_probs = np.array(prompt), []
    for _ in range(new_tokens):
        inputs = {"token_ids": sequence}
        if preference is not None:
            inputs["preference"] = preference
        logits = np.array(model(inputs))[:, -1]
        token = logits.argmax(-1)
        log_probs.append(np.array(tf.nn.log_softmax(logits))[np.arange(len(token)), token])
        sequence = np.concatenate([sequence, token[:, None].astype("int32")], axis=1)
    return sequence, np.stack(log_probs, axis=1)


def sequence_log_prob(model, sequence, prompt_length):
    """Sum of the model's log-probs of sequence[prompt_length:] (one row)."""
    logits = np.array(model(np.array([sequence], "int32")))[0]
    log_probs = np.array(tf.nn.log_softmax(logits))
    return sum(log_probs[t - 1, sequence[t]] for t in range(prompt_length, len(sequence)))


@pytest.mark.parametrize("position", ["learned", "rotary"])
def test_cached_greedy_equals_full_recompute(model, position):
    lm = model if position == "learned" else DecoderLM.from_preset(
        "tiny", vocabulary_size=VOCAB, max_sequence_length=24, position=position)
    prompt = prompts()
    expected, expected_log_probs = greedy_by_recompute(lm, prompt, 8)
    np.testing.assert_array_equal(generate(lm, prompt, 8), expected)
    result = tf.function(lambda p: sample_tokens(lm, p, [4, 4, 4], 8, temperature=0),
                         jit_compile=True)(prompt)
    np.testing.assert_array_equal(result["token_ids"], expected)
    np.testing.assert_allclose(np.array(result["model_log_probs"])[:, 4:], expected_log_probs,
                               atol=1e-4)
    assert np.array(result["generated_mask"])[:, 4:].all()
    np.testing.assert_array_equal(result["lengths"], [12, 12, 12])


def test_seq2seq_greedy_equals_full_recompute():
    model = Seq2SeqTransformer(VOCAB, 1, 2, 2, 32, 64, 16)
    source = prompts(batch=2, length=6)
    mask = np.array([[True] * 6, [True] * 4 + [False] * 2])
    target = np.ones((2, 1), "int32")  # start token 1
    for _ in range(5):
        logits = np.array(model({"encoder_token_ids": source, "encoder_padding_mask": mask,
                                 "decoder_token_ids": target}))[:, -1]
        target = np.concatenate([target, logits.argmax(-1)[:, None].astype("int32")], axis=1)
    out = generate(model, source, 5, encoder_padding_mask=mask)
    np.testing.assert_array_equal(out, target[:, 1:])
    as_lists = generate(model, [list(source[0]), list(source[1, :4])], 5)
    assert as_lists == target[:, 1:].tolist()


def test_ragged_batch_rows_equal_rows_alone(model):
    rows = [[5, 9, 12, 7, 30], [8], [40, 41, 42]]
    batched = generate(model, rows, 6)
    for row, out in zip(rows, batched):
        assert out == generate(model, [row], 6)[0]
        assert len(out) == len(row) + 6 and out[:len(row)] == row
    padded = np.zeros((3, 5), "int32")
    lengths = [len(r) for r in rows]
    for i, row in enumerate(rows):
        padded[i, :len(row)] = row
    array_out = generate(model, padded, 6, prompt_lengths=lengths, pad_token_id=0)
    for i, out in enumerate(batched):
        np.testing.assert_array_equal(array_out[i, :len(out)], out)
        assert (array_out[i, len(out):] == 0).all()


def test_beam_width_one_equals_greedy(model):
    prompt = prompts()
    np.testing.assert_array_equal(generate(model, prompt, 8, sampler="beam", num_beams=1),
                                  generate(model, prompt, 8))


def test_beam_search_log_prob_at_least_greedy(model):
    prompt = prompts(seed=5)
    greedy = generate(model, prompt, 8)
    beam = generate(model, prompt, 8, sampler="beam", num_beams=4)
    for g, b in zip(greedy, beam):
        assert sequence_log_prob(model, b, 4) >= sequence_log_prob(model, g, 4) - 1e-5
    assert any(not np.array_equal(g, b) for g, b in zip(greedy, beam))


def test_beam_stop_tokens_and_length_penalty(model):
    prompt = prompts()
    stop = int(generate(model, prompt, 8)[0, 5])
    out = generate(model, prompt, 8, sampler="beam", num_beams=3, stop_token_ids=[stop],
                   length_penalty=0.6, pad_token_id=0)
    for row in out:
        stops = np.flatnonzero(row[4:] == stop)
        if stops.size:
            assert (row[4 + stops[0] + 1:] == 0).all()


def test_top_k_one_and_tiny_top_p_equal_greedy(model):
    prompt = prompts()
    greedy = generate(model, prompt, 8)
    np.testing.assert_array_equal(generate(model, prompt, 8, sampler="top_k", k=1, seed=3),
                                  greedy)
    np.testing.assert_array_equal(
        generate(model, prompt, 8, sampler="top_p", p=1e-6, temperature=0.7, seed=4), greedy)


def test_same_seed_same_output_and_seeds_differ(model):
    prompt = prompts()
    a = generate(model, prompt, 8, sampler="top_k", k=20, temperature=1.5, seed=11)
    b = generate(model, prompt, 8, sampler="top_k", k=20, temperature=1.5, seed=11)
    c = generate(model, prompt, 8, sampler="top_k", k=20, temperature=1.5, seed=12)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_top_k_only_emits_the_k_most_likely(model):
    prompt = prompts(batch=8, length=1)
    out = generate(model, prompt, 1, sampler="top_k", k=3, temperature=5.0, seed=2)
    top3 = np.argsort(np.array(model(prompt))[:, -1], axis=-1)[:, -3:]
    assert all(out[i, 1] in top3[i] for i in range(8))


@pytest.mark.parametrize("sampler", ["greedy", "top_p", "beam"])
def test_banned_tokens_never_appear_even_when_argmax(model, sampler):
    prompt = prompts()
    greedy = generate(model, prompt, 8)
    banned = sorted(set(greedy[:, 4:].ravel().tolist()))
    out = generate(model, prompt, 8, sampler=sampler, banned_token_ids=banned, p=0.95, seed=1)
    assert not np.isin(out[:, 4:], banned).any()


def test_stop_tokens_stop_and_pad(model):
    prompt = prompts()
    greedy = generate(model, prompt, 8)
    stop = int(greedy[0, 6])
    out = generate(model, prompt, 8, stop_token_ids=[stop], pad_token_id=2)
    for row, full in zip(out, greedy):
        hits = np.flatnonzero(full[4:] == stop)
        end = 4 + (hits[0] + 1 if hits.size else 8)
        np.testing.assert_array_equal(row[:end], full[:end])
        assert (row[end:] == 2).all()
    lists = generate(model, [list(p) for p in prompt], 8, stop_token_ids=[stop])
    assert lists[0][-1] == stop and len(lists[0]) <= 7


def test_preference_model_matches_recompute():
    import keras
    keras.utils.set_random_seed(5)
    lm = DecoderLM.from_preset("tiny", vocabulary_size=VOCAB, max_sequence_length=24,
                               preference_dim=2)
    prompt = prompts(batch=2)
    preference = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
    expected, _ = greedy_by_recompute(lm, prompt, 5, preference)
    np.testing.assert_array_equal(generate(lm, prompt, 5, preference=preference), expected)
    with pytest.raises(ValueError, match="preference_dim=2"):
        generate(lm, prompt, 5)


def test_sampling_log_probs_match_the_sampling_distribution(model):
    prompt = prompts(batch=2)
    result = sample_tokens(model, prompt, [4, 4], 5, temperature=1.0,
                           seed=tf.constant([1, 2]))
    mask = np.array(result["generated_mask"])
    np.testing.assert_allclose(np.array(result["log_probs"])[mask],
                               np.array(result["model_log_probs"])[mask], atol=1e-5)
    cooled = sample_tokens(model, prompt, [4, 4], 5, temperature=0.5, top_k=5,
                           seed=tf.constant([1, 2]))
    tokens = np.array(cooled["token_ids"])
    logits = np.array(model(tokens))[:, 3:-1]
    top5 = np.sort(logits, axis=-1)[..., -5:] / 0.5
    chosen = np.take_along_axis(logits, tokens[:, 4:, None], -1)[..., 0] / 0.5
    expected = chosen - np.log(np.exp(top5).sum(-1))
    np.testing.assert_allclose(np.array(cooled["log_probs"])[:, 4:], expected, atol=1e-4)


def test_sample_tokens_saved_model_with_symbolic_shapes(model, tmp_path):
    module = tf.Module()
    module.variables_ = [v.value for v in model.variables]  # tf.Module misses Keras 3 vars
    module.run = tf.function(
        lambda ids, lengths: sample_tokens(model, ids, lengths, 4, temperature=0)["token_ids"],
        input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32)])
    tf.saved_model.save(module, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    prompt = prompts(batch=2, length=3)
    np.testing.assert_array_equal(loaded.run(prompt, tf.constant([3, 3])),
                                  generate(model, prompt, 4))


def test_repeated_calls_reuse_the_compiled_program(model):
    from tfllm.generation.generate import _COMPILED
    generate(model, prompts(), 8, sampler="top_p", seed=1)
    programs = dict(_COMPILED[model])
    traces = {key: run.experimental_get_tracing_count() for key, run in programs.items()}
    generate(model, prompts(seed=1), 8, sampler="top_p", p=0.5, temperature=0.7, seed=5)
    assert _COMPILED[model] == programs
    assert {key: run.experimental_get_tracing_count() for key, run in programs.items()} == traces


@pytest.mark.parametrize("call,message", [
    (lambda m: generate(m, prompts(length=20), 5), "exceeds max_sequence_length 24"),
    (lambda m: generate(m, np.zeros((2, 3, 4), "int32"), 5), "rank 2"),
    (lambda m: generate(m, [1, 2, 3], 5), "rank 2"),
    (lambda m: generate(m, prompts(), 5, sampler="nucleus"), "unknown sampler"),
    (lambda m: generate(m, prompts(), 5, beams=2), "unknown sampler options"),
    (lambda m: generate(m, prompts(), 0), "max_new_tokens"),
    (lambda m: generate(m, prompts(), 5, sampler="top_k", k=0), "k must be"),
    (lambda m: generate(m, prompts(), 5, sampler="top_p", temperature=0), "temperature"),
    (lambda m: generate(m, prompts(), 5, banned_token_ids=[VOCAB]), "banned_token_ids"),
    (lambda m: generate(m, [[1, 2], []], 5), "at least one token"),
    (lambda m: generate(m, prompts(), 5, prompt_padding_mask=[[0, 1, 1, 1]] * 3), "prefix"),
    (lambda m: generate(m, prompts() + VOCAB, 5), "lie in"),
    (lambda m: generate(m, prompts(), 5, segment_control=([3], VOCAB)), "segment_control"),
    (lambda m: generate(m, prompts(), 5, segment_control=([], 4)), "segment_control"),
    (lambda m: generate(m, prompts(), 5, sampler="beam", segment_control=([3], 4)),
     "not beam"),
])
def test_bad_inputs_raise_value_error(model, call, message):
    with pytest.raises(ValueError, match=message):
        call(model)


def seq2seq_log_prob(model, source, mask, target):
    """Sum of the model's log-probs of `target` (one row, without the start token 1)."""
    decoder = np.array([[1] + list(target)], "int32")
    logits = np.array(model({"encoder_token_ids": source[None], "encoder_padding_mask": mask[None],
                             "decoder_token_ids": decoder}))[0]
    log_probs = np.array(tf.nn.log_softmax(logits))
    return sum(log_probs[t, token] for t, token in enumerate(target))


@pytest.fixture(scope="module")
def seq2seq():
    import keras
    keras.utils.set_random_seed(3)
    return Seq2SeqTransformer(VOCAB, 1, 2, 2, 32, 64, 16)


@pytest.mark.parametrize("batch", [1, 3])
def test_seq2seq_beam_search(seq2seq, batch):
    # Regression: a batch-1 (or any) Seq2Seq beam search failed the while_loop's
    # shape invariants ((1, k) entering, (None, k) after one step).
    source = prompts(batch=batch, length=6, seed=batch)
    mask = np.ones((batch, 6), bool)
    mask[-1, 4:] = False
    greedy = generate(seq2seq, source, 6, encoder_padding_mask=mask)
    np.testing.assert_array_equal(
        generate(seq2seq, source, 6, sampler="beam", num_beams=1, encoder_padding_mask=mask),
        greedy)
    beam = generate(seq2seq, source, 6, sampler="beam", num_beams=4, encoder_padding_mask=mask)
    assert beam.shape == greedy.shape == (batch, 6)
    for i in range(batch):
        assert (seq2seq_log_prob(seq2seq, source[i], mask[i], beam[i])
                >= seq2seq_log_prob(seq2seq, source[i], mask[i], greedy[i]) - 1e-5)


def test_decoder_beam_search_batch_of_one(model):
    prompt = prompts(batch=1)
    np.testing.assert_array_equal(generate(model, prompt, 8, sampler="beam", num_beams=1),
                                  generate(model, prompt, 8))
    beam = generate(model, prompt, 8, sampler="beam", num_beams=4)
    greedy = generate(model, prompt, 8)
    assert sequence_log_prob(model, beam[0], 4) >= sequence_log_prob(model, greedy[0], 4) - 1e-5


@pytest.mark.parametrize("sampler", ["greedy", "top_k", "top_p", "beam"])
def test_logit_bias(model, sampler):
    prompt = prompts()
    options = dict(sampler=sampler, k=5, p=0.9, seed=4, num_beams=3)
    plain = generate(model, prompt, 6, **options)
    np.testing.assert_array_equal(
        generate(model, prompt, 6, logit_bias=np.zeros(VOCAB, "float32"), **options), plain)
    bias = np.zeros(VOCAB, "float32")
    bias[17] = 1e3
    np.testing.assert_array_equal(generate(model, prompt, 6, logit_bias=bias, **options)[:, 4:],
                                  np.full((3, 6), 17))
    # The bias comes before the ban: a banned token stays banned.
    out = generate(model, prompt, 6, logit_bias=bias, banned_token_ids=[17], **options)
    assert not (out[:, 4:] == 17).any()


def test_logit_bias_in_sample_tokens_and_errors(model):
    prompt = prompts()
    bias = np.zeros(VOCAB, "float32")
    bias[23] = 1e3
    result = sample_tokens(model, prompt, [4, 4, 4], 3, temperature=0, logit_bias=bias)
    np.testing.assert_array_equal(np.array(result["token_ids"])[:, 4:], 23)
    sampled = sample_tokens(model, prompt, [4, 4, 4], 3, temperature=1.0, seed=[1, 2],
                            logit_bias=bias)
    np.testing.assert_array_equal(np.array(sampled["token_ids"])[:, 4:], 23)
    np.testing.assert_allclose(np.array(sampled["log_probs"])[:, 4:], 0.0, atol=1e-5)
    with pytest.raises(ValueError, match="logit_bias"):
        sample_tokens(model, prompt, [4, 4, 4], 3, logit_bias=np.zeros(VOCAB + 1))
    with pytest.raises(ValueError, match="logit_bias"):
        generate(model, prompt, 3, logit_bias=np.zeros(VOCAB - 1))
    with pytest.raises(ValueError, match="NaN"):
        generate(model, prompt, 3, logit_bias=np.full(VOCAB, np.nan))


def test_filter_logits_runtime_top_k_matches_static():
    from tfllm.generation.sampling import filter_logits
    logits = tf.constant(np.random.default_rng(0).normal(size=(4, VOCAB)), tf.float32)
    for k in (0, 1, 3, 10, VOCAB, VOCAB + 5):
        static_k = min(k, VOCAB)
        for top_p in (1.0, 0.8):
            expected = filter_logits(logits, 0.7, static_k, top_p)
            np.testing.assert_array_equal(
                filter_logits(logits, 0.7, tf.constant(k), tf.constant(top_p)
                              if top_p < 1 else top_p), expected)
    traced = tf.function(lambda x, k: filter_logits(x, 1.0, k), jit_compile=True)
    for k in (2, 7):
        kept = np.isfinite(np.array(traced(logits, tf.constant(k)))).sum(-1)
        np.testing.assert_array_equal(kept, k)
    assert traced.experimental_get_tracing_count() == 1


def test_sample_tokens_runtime_top_k(model):
    prompt = prompts()

    def sample(k):
        return sample_tokens(model, prompt, [4, 4, 4], 5, temperature=2.0, top_k=k,
                             seed=tf.constant([3, 4]))

    run = tf.function(sample, jit_compile=True)
    for k in (1, 5):
        static = tf.function(lambda: sample(k), jit_compile=True)()
        runtime = run(tf.constant(k))
        np.testing.assert_array_equal(runtime["token_ids"], static["token_ids"])
        np.testing.assert_allclose(runtime["log_probs"], static["log_probs"], atol=1e-5)
    assert run.experimental_get_tracing_count() == 1
    np.testing.assert_array_equal(run(tf.constant(1))["token_ids"], generate(model, prompt, 5))


def test_num_return_sequences_gives_n_distinct_samples_per_prompt(model):
    rows = [[1, 5, 9], [1, 7]]
    out = generate(model, rows, 6, sampler="random", seed=3, temperature=1.0,
                   num_return_sequences=3)
    assert len(out) == 6
    for i, row in enumerate(rows):
        samples = out[3 * i:3 * i + 3]
        assert all(s[:len(row)] == row for s in samples)
        assert len({tuple(s) for s in samples}) == 3, samples
    again = generate(model, rows, 6, sampler="random", seed=3, temperature=1.0,
                     num_return_sequences=3)
    assert again == out
    single = generate(model, prompts(2), 6, sampler="top_k", k=20, seed=3,
                      num_return_sequences=2)
    assert single.shape == (4, 10)


@pytest.mark.parametrize("sampler,n,message", [
    ("greedy", 3, "needs a random sampler"), ("beam", 2, "needs a random sampler"),
    ("random", 0, "must be a positive int")])
def test_num_return_sequences_refused(model, sampler, n, message):
    with pytest.raises(ValueError, match=message):
        generate(model, prompts(), 4, sampler=sampler, num_return_sequences=n)


def test_num_return_sequences_repeat_masks_and_preferences_with_their_prompts(seq2seq):
    import keras
    near_greedy = dict(sampler="random", temperature=1e-4, seed=1, num_return_sequences=2)
    source = prompts(batch=2, length=6, seed=4)
    mask = np.ones((2, 6), bool)
    mask[1, 3:] = False
    greedy = generate(seq2seq, source, 6, encoder_padding_mask=mask)
    np.testing.assert_array_equal(
        generate(seq2seq, source, 6, encoder_padding_mask=mask, **near_greedy),
        np.repeat(greedy, 2, axis=0))
    keras.utils.set_random_seed(5)
    lm = DecoderLM.from_preset("tiny", vocabulary_size=VOCAB, max_sequence_length=24,
                               preference_dim=2)
    preference = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
    greedy = generate(lm, prompts(batch=2), 5, preference=preference)
    np.testing.assert_array_equal(
        generate(lm, prompts(batch=2), 5, preference=preference, **near_greedy),
        np.repeat(greedy, 2, axis=0))
