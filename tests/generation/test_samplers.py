"""Sampler objects: the same tokens as generate's keyword form, configs, errors."""

import numpy as np
import pytest
import tensorflow as tf

import tfllm.generation
from tfllm.generation import (SAMPLERS, BeamSampler, GreedySampler, RandomSampler, Sampler,
                              TopKSampler, TopPSampler, generate, sample_tokens, samplers)
from tfllm.generation.beam_search import beam_search
from tfllm.generation.decoding import setup
from tfllm.models import DecoderLM

VOCAB = 300
PROMPTS = [[5, 9, 12, 7, 30], [8], [40, 41, 42]]

# (keyword form, the same sampler as an object) for every sampler name.
PAIRS = {
    "greedy": ({}, GreedySampler()),
    "random": (dict(temperature=0.1, seed=5), RandomSampler(seed=5, temperature=0.1)),
    "top_k": (dict(k=7, temperature=0.1, seed=3), TopKSampler(k=7, seed=3, temperature=0.1)),
    "top_p": (dict(p=0.8, temperature=0.15, seed=4),
              TopPSampler(p=0.8, seed=4, temperature=0.15)),
    "beam": (dict(num_beams=3, length_penalty=2.0), BeamSampler(num_beams=3, length_penalty=2.0)),
}


@pytest.fixture(scope="module")
def model():
    import keras
    keras.utils.set_random_seed(7)
    return DecoderLM.from_preset("tiny", vocabulary_size=VOCAB, max_sequence_length=24)


def test_every_sampler_name_has_an_example():
    assert set(PAIRS) == set(SAMPLERS)


@pytest.mark.parametrize("name", SAMPLERS)
def test_sampler_object_gives_the_keyword_forms_tokens(model, name):
    keywords, sampler = PAIRS[name]
    # Settings another sampler reads are ignored by the keyword form, as before.
    extra = dict(k=5, p=0.5, temperature=0.3, seed=9, num_beams=2, length_penalty=1.0)
    expected = generate(model, PROMPTS, 10, sampler=name, **{**extra, **keywords})
    assert generate(model, PROMPTS, 10, sampler=sampler) == expected
    assert generate(model, PROMPTS, 10, sampler=samplers.serialize(sampler)) == expected
    if isinstance(sampler, RandomSampler):
        assert expected != generate(model, PROMPTS, 10)  # the seed and settings matter
        assert expected != generate(model, PROMPTS, 10, sampler=name,
                                    **{**keywords, "seed": keywords["seed"] + 1})


@pytest.mark.parametrize("name", SAMPLERS)
def test_sampler_settings_reach_the_decoding_loops(model, name):
    """generate(sampler=...) equals the loops called with PAIRS' settings spelled out."""
    sampler = PAIRS[name][1]
    ids = tf.constant(np.array(PROMPTS[2:] * 2, "int32"))
    lengths = tf.constant([3, 3])
    stops = list(range(3, VOCAB, 11))  # hypotheses of different lengths: length_penalty matters
    # Low temperatures: the tiny model's logits are nearly flat.
    settings = {"random": dict(temperature=0.1), "top_k": dict(temperature=0.1, top_k=7),
                "top_p": dict(temperature=0.15, top_p=0.8)}.get(name)

    @tf.function(jit_compile=True)
    def loops(runtime):
        if name == "beam":
            adapter = setup(model, ids, lengths)[0]
            return beam_search(adapter, ids, lengths, 10, 3, 2.0, stops)["token_ids"]
        if name == "greedy":
            return sample_tokens(model, ids, lengths, 10, temperature=0,
                                 stop_token_ids=stops)["token_ids"]
        return sample_tokens(model, ids, lengths, 10, seed=[sampler.seed, 0],
                             stop_token_ids=stops, **{**settings, **runtime})["token_ids"]

    runtime = {key: tf.constant(value) for key, value in (settings or {}).items()
               if key != "top_k"}  # generate's runtime inputs
    np.testing.assert_array_equal(
        generate(model, ids.numpy(), 10, sampler=sampler, stop_token_ids=stops), loops(runtime))


def test_names_give_generates_former_defaults():
    assert {name: samplers.get(name).get_config() for name in SAMPLERS} == {
        "greedy": {},
        "random": dict(seed=None, temperature=1.0),
        "top_k": dict(k=50, seed=None, temperature=1.0),
        "top_p": dict(p=0.9, k=None, seed=None, temperature=1.0),
        "beam": dict(num_beams=4, length_penalty=0.0)}


def test_random_sampler_is_top_k_over_the_whole_vocabulary(model):
    np.testing.assert_array_equal(
        generate(model, np.array(PROMPTS[2:] * 2), 8, sampler=RandomSampler(seed=1)),
        generate(model, np.array(PROMPTS[2:] * 2), 8, sampler="top_k", k=VOCAB, seed=1))


def test_top_p_sampler_with_k_cuts_to_the_top_k(model):
    greedy = generate(model, PROMPTS, 6)
    assert generate(model, PROMPTS, 6, sampler=TopPSampler(p=1.0, k=1, seed=0)) == greedy
    assert generate(model, PROMPTS, 6, sampler=TopPSampler(p=1.0, seed=0)) != greedy


def test_changing_a_sampler_after_a_call_does_not_change_its_program(model):
    sampler = TopKSampler(k=1, seed=0)
    generate(model, PROMPTS, 5, sampler=sampler)
    sampler.k = VOCAB
    # A new prompt shape retraces the program compiled for k=1.
    assert (generate(model, PROMPTS[:2], 5, sampler=TopKSampler(k=1, seed=3))
            == generate(model, PROMPTS[:2], 5))


@pytest.mark.parametrize("sampler", [s for _, s in PAIRS.values()], ids=list(PAIRS))
def test_config_round_trip(sampler):
    assert isinstance(sampler, Sampler)
    config = sampler.get_config()
    assert type(sampler).from_config(config).get_config() == config
    again = samplers.get(samplers.serialize(sampler))
    assert type(again) is type(sampler) and again.get_config() == config
    assert samplers.get(sampler) is sampler
    assert repr(sampler).startswith(type(sampler).__name__ + "(")


def test_exports():
    for name in ("Sampler", "GreedySampler", "RandomSampler", "TopKSampler", "TopPSampler",
                 "BeamSampler", "SAMPLERS", "generate", "samplers"):
        assert name in tfllm.generation.__all__


@pytest.mark.parametrize("make,message", [
    (lambda: TopKSampler(k=0), "TopKSampler: k must be an int >= 1, got 0"),
    (lambda: TopKSampler(k=2.5), "TopKSampler: k must be an int >= 1, got 2.5"),
    (lambda: TopPSampler(p=0), r"TopPSampler: p must be in \(0, 1\], got 0"),
    (lambda: TopPSampler(p=1.5), r"TopPSampler: p must be in \(0, 1\], got 1.5"),
    (lambda: TopPSampler(k=0), "TopPSampler: k must be an int >= 1, got 0"),
    (lambda: RandomSampler(temperature=0), "RandomSampler: temperature must be > 0, got 0"),
    (lambda: TopKSampler(temperature=-1.0), "TopKSampler: temperature must be > 0"),
    (lambda: TopPSampler(temperature=float("nan")), "TopPSampler: temperature must be > 0"),
    (lambda: RandomSampler(seed="1"), "RandomSampler: seed must be an int or None"),
    (lambda: BeamSampler(num_beams=0), "BeamSampler: num_beams must be an int >= 1, got 0"),
    (lambda: BeamSampler(length_penalty=float("inf")), "length_penalty must be a finite"),
    (lambda: samplers.get("nucleus"), "unknown sampler 'nucleus'"),
    (lambda: samplers.get({"class_name": "Nucleus", "config": {}}), "unknown sampler"),
])
def test_bad_settings_raise_one_line(make, message):
    with pytest.raises(ValueError, match=message) as error:
        make()
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("call,message", [
    (lambda m: generate(m, PROMPTS, 5, sampler=TopKSampler(), temperature=0.5),
     r"sampler settings \['temperature'\] given beside TopKSampler\(k=50, seed=None, "
     r"temperature=1.0\)"),
    (lambda m: generate(m, PROMPTS, 5, sampler=GreedySampler(), seed=1), "given beside"),
    (lambda m: generate(m, PROMPTS, 5, sampler=TopKSampler(k=VOCAB + 1)),
     rf"TopKSampler: k must be in \[1, {VOCAB}\], got {VOCAB + 1}"),
    (lambda m: generate(m, PROMPTS, 5, sampler=TopPSampler(k=VOCAB + 1)), "k must be in"),
    (lambda m: generate(m, PROMPTS, 5, sampler="beam", num_beams=0), "num_beams must be"),
    (lambda m: generate(m, PROMPTS, 5, sampler="top_p", p=2.0), "p must be in"),
    (lambda m: generate(m, PROMPTS, 5, sampler="random", temperature=0), "temperature must"),
    (lambda m: generate(m, PROMPTS, 5, sampler=BeamSampler(), segment_control=([3], 4)),
     "not beam"),
])
def test_bad_generate_calls_raise_one_line(model, call, message):
    with pytest.raises(ValueError, match=message) as error:
        call(model)
    assert "\n" not in str(error.value)
