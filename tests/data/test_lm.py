import hypothesis
import hypothesis.strategies as st
import numpy as np
import pytest
import tensorflow as tf

from tfllm.data import conditional, documents as documents_lib, lm
from tfllm.tokenizers import Tokenizer

T = 8


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.train([], None, kind="byte", control_tokens=("<|good|>", "<|bad|>"))


def _collect(ds):
    return [{k: v.numpy() for k, v in b.items()} for b in ds]


def _stream(tok, docs):
    ids, scores = [], []
    for doc in docs:
        segments, segment_scores = documents_lib.as_segments(doc)
        for seg, s in zip(segments, segment_scores):
            seg_ids = tok.encode(seg)
            ids += seg_ids
            scores += [s] * len(seg_ids)
        ids.append(tok.eos_id)
        scores.append(segment_scores[-1])
    return ids, scores


def _unzip(segments):
    return [s for s, _ in segments], [f for _, f in segments]


scored_docs = st.lists(
    st.lists(st.tuples(st.text("abc \n", max_size=7), st.floats(0, 1, width=32)),
             min_size=1, max_size=4).map(_unzip),
    min_size=1, max_size=6)


@hypothesis.settings(max_examples=6, deadline=None)
@hypothesis.given(scored_docs)
def test_packing_conserves_tokens_and_aligns_scores(docs):
    tok = Tokenizer.train([], None, kind="byte")
    stream, stream_scores = _stream(tok, docs)
    batches = _collect(lm.make_lm_dataset(docs, tok, T, 3, shuffle=False,
                                          drop_remainder=False))
    if len(stream) == 1:  # a lone <eos>: no label to train on, no row
        assert batches == []
        return
    rows = {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    # Inputs concatenate to the stream; labels are the stream shifted by one.
    real = rows["padding_mask"]
    assert rows["token_ids"][real].tolist() == stream[:int(real.sum())]
    counted = rows["loss_mask"] > 0
    assert rows["labels"][counted].tolist() == stream[1:]
    np.testing.assert_allclose(rows["scores"][counted], stream_scores[1:], rtol=1e-6)
    assert (rows["token_ids"][~real] == tok.pad_id).all()
    assert rows["token_ids"].shape[1] == T


def test_packing_many_random_documents():
    rng = np.random.default_rng(0)
    docs = [([("xy z\n" * int(rng.integers(0, 5)))[:int(rng.integers(0, 20))]
              for _ in range(int(rng.integers(1, 5)))], None) for _ in range(60)]
    docs = [(segs, rng.random(len(segs)).astype(np.float32).tolist()) for segs, _ in docs]
    test_packing_conserves_tokens_and_aligns_scores.hypothesis.inner_test(docs)


def test_segment_ids_and_document_separators(tok):
    unmasked = _collect(lm.make_lm_dataset(["ab", "cde", "f"], tok, 12, 1, shuffle=False,
                                           drop_remainder=False))[0]
    assert "segment_ids" not in unmasked
    batch = _collect(lm.make_lm_dataset(["ab", "cde", "f"], tok, 12, 1, shuffle=False,
                                        drop_remainder=False, document_mask=True))[0]
    eos = tok.eos_id
    a, b, c, d, e, f = (x + 7 for x in b"abcdef")
    assert batch["token_ids"][0].tolist() == [a, b, eos, c, d, e, eos, f, eos, 0, 0, 0]
    assert batch["segment_ids"][0].tolist() == [1, 1, 1, 2, 2, 2, 2, 3, 3, 0, 0, 0]
    assert batch["labels"][0].tolist()[:8] == [b, eos, c, d, e, eos, f, eos]
    assert batch["loss_mask"][0].tolist() == [1.0] * 8 + [0.0] * 4


def test_dtypes_and_shapes(tok):
    ds = lm.make_lm_dataset(["abcdefghijklmnop"] * 4, tok, T, 2, repeat=True,
                            document_mask=True)
    spec = ds.element_spec
    assert spec["token_ids"].shape.as_list() == [2, T]
    assert spec["token_ids"].dtype == tf.int32 and spec["labels"].dtype == tf.int32
    assert spec["padding_mask"].dtype == tf.bool
    assert spec["loss_mask"].dtype == tf.float32 and spec["scores"].dtype == tf.float32
    assert spec["segment_ids"].dtype == tf.int32


def _docs(n):
    return [f"document number {i} " * (1 + i % 3) for i in range(n)]


def test_same_seed_same_order_and_start_step(tok):
    def first(seed, start_step=0, k=6):
        ds = lm.make_lm_dataset(_docs(20), tok, T, 2, seed=seed, repeat=True,
                                start_step=start_step)
        return [b["token_ids"].numpy().tolist() for b in ds.take(k)]

    run = first(3)
    assert run == first(3)
    assert run != first(4)
    assert first(3, start_step=2, k=4) == run[2:]


def test_batches_mix_documents_and_fixed_order_evaluation(tok):
    # 8 long documents, each of one repeated letter: without the row shuffle a batch
    # of 8 rows would hold consecutive rows of one or two documents.
    docs = [letter * 400 for letter in "abcdefgh"]

    def letters_per_batch(**options):
        ds = lm.make_lm_dataset(docs, tok, T, 8, seed=0, **options)
        return [len({chr(t) for t in b["token_ids"].numpy().ravel() if t >= 97})
                for b in ds.take(4)]

    assert max(letters_per_batch(repeat=True, row_shuffle_buffer_size=0)) <= 2
    assert min(letters_per_batch(repeat=True)) >= 4
    once = lm.make_lm_dataset(docs, tok, T, 8, seed=0, reshuffle_each_iteration=False)
    first = [b["token_ids"].numpy().tolist() for b in once]
    assert [b["token_ids"].numpy().tolist() for b in once] == first


def test_iterator_checkpoint_resumes(tok, tmp_path):
    ds = lm.make_lm_dataset(_docs(20), tok, T, 2, seed=1, repeat=True)
    iterator = iter(ds)
    for _ in range(3):
        next(iterator)
    checkpoint = tf.train.Checkpoint(iterator=iterator)
    path = checkpoint.save(str(tmp_path / "ckpt"))
    expected = [next(iterator)["token_ids"].numpy().tolist() for _ in range(3)]
    fresh = iter(lm.make_lm_dataset(_docs(20), tok, T, 2, seed=1, repeat=True))
    tf.train.Checkpoint(iterator=fresh).restore(path)
    assert [next(fresh)["token_ids"].numpy().tolist() for _ in range(3)] == expected


def test_shards_disjoint_and_covering(tok):
    docs = [f"<{i}>" for i in range(11)]

    def seen(**kwargs):
        ds = lm.make_lm_dataset(docs, tok, 64, 1, shuffle=False, drop_remainder=False,
                                **kwargs)
        text = "".join(tok.decode(b["token_ids"][0].numpy().tolist()) for b in ds)
        return {d for d in docs if d in text}

    shards = [seen(num_shards=3, shard_index=i) for i in range(3)]
    assert set().union(*shards) == set(docs)
    assert sum(map(len, shards)) == len(docs)
    context = tf.distribute.InputContext(num_input_pipelines=3, input_pipeline_id=1)
    assert seen(input_context=context) == shards[1]
    with pytest.raises(ValueError, match="shard_index"):
        lm.make_lm_dataset(docs, tok, 8, 1, num_shards=2, shard_index=2)


def test_conditional_control_tokens(tok):
    good, bad = tok.token_to_id("<|good|>"), tok.token_to_id("<|bad|>")
    docs = [(["aa", "bb", "cc"], [0.0, 0.5, 0.0])]
    hook = conditional.control_token_hook(tok, threshold=0.1)
    batch = _collect(lm.make_lm_dataset(docs, tok, 16, 1, shuffle=False,
                                        control_hook=hook, drop_remainder=False))[0]
    a, b, c = (x + 7 for x in b"abc")
    assert batch["token_ids"][0].tolist()[:10] == [good, a, a, bad, b, b, good, c, c,
                                                   tok.eos_id]
    # The inserted token carries its segment's score (labels are shifted by one).
    assert batch["scores"][0].tolist()[:9] == [0.0, 0.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0]


def test_conditional_drop_probability_is_seeded(tok):
    docs = [([f"s{i}" for i in range(200)], [0.0] * 200)]
    good = tok.token_to_id("<|good|>")

    def count(seed, p):
        hook = conditional.control_token_hook(tok, 0.0, drop_probability=p, seed=seed)
        ds = lm.make_lm_dataset(docs, tok, 64, 4, shuffle=False, control_hook=hook,
                                drop_remainder=False)
        return sum(int((b["token_ids"] == good).numpy().sum()) for b in ds)

    assert count(0, 0.0) == 200
    dropped = 200 - count(0, 0.3)
    assert 30 < dropped < 90
    assert count(0, 0.3) == count(0, 0.3)


def test_filtering_threshold_and_percentile(tok):
    docs = [(["a"], [s]) for s in (0.0, 0.1, 0.2, 0.3, 0.9)]
    kept = documents_lib.filter_documents(docs, threshold=0.2)
    assert [d[1][0] for d in kept] == [0.0, 0.1, 0.2]
    kept = documents_lib.filter_documents(docs, percentile=50)
    assert [d[1][0] for d in kept] == [0.0, 0.1, 0.2]
    ds = lm.make_lm_dataset(docs, tok, 4, 8, shuffle=False, filter_threshold=0.1,
                            drop_remainder=False)
    assert _collect(ds)[0]["loss_mask"].sum() == 3  # "a<eos>a<eos>": 3 labels
    with pytest.raises(ValueError, match="exactly one"):
        documents_lib.filter_documents(docs)


def test_filtering_by_the_unweighted_line_mean(tok):
    # A short bad line next to a long clean one: 1 violation in 10 characters, 0 in 90.
    doc = (["x" * 9 + "\n", "y" * 89 + "\n"], [0.1, 0.0])
    assert documents_lib.document_score(doc) == pytest.approx(0.01)  # per character
    assert documents_lib.segment_mean_score(doc) == pytest.approx(0.05)  # per line
    assert documents_lib.filter_documents([doc], threshold=0.02) == [doc]
    assert documents_lib.filter_documents([doc], threshold=0.02, score="segment_mean") == []
    ds = lm.make_lm_dataset([doc, (["a"], [0.0])], tok, 4, 8, shuffle=False,
                            filter_threshold=0.02, filter_score="segment_mean",
                            drop_remainder=False)
    assert _collect(ds)[0]["loss_mask"].sum() == 1  # only "a<eos>" is left
    with pytest.raises(ValueError, match="score 'median' is not one of"):
        documents_lib.filter_documents([doc], threshold=0.1, score="median")


def test_streaming_files(tok, tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.txt").write_text(f"file {i}\n")
    ds = lm.make_lm_dataset(documents_lib.text_files_dataset(str(tmp_path / "*.txt")),
                            tok, 32, 1, shuffle=False, drop_remainder=False)
    text = tok.decode(_collect(ds)[0]["token_ids"][0].tolist())
    assert text == "file 0\nfile 1\nfile 2\n"


def test_bad_documents(tok, tmp_path):
    with pytest.raises(ValueError, match="empty corpus"):
        lm.make_lm_dataset([], tok, 8, 1)
    with pytest.raises(ValueError, match="document 1: 2 segments but 1"):
        lm.make_lm_dataset(["x", (["a", "b"], [0.0])], tok, 8, 1)
    (tmp_path / "bad.txt").write_bytes(b"ok\n\xff\xfe")
    ds = lm.make_lm_dataset(documents_lib.text_files_dataset(str(tmp_path / "bad.txt")),
                            tok, 8, 1, shuffle=False)
    with pytest.raises(tf.errors.OpError, match=r"bad.txt: invalid UTF-8 at byte offset 3"):
        _collect(ds)
    replaced = documents_lib.text_files_dataset(str(tmp_path / "bad.txt"), errors="replace")
    segments = next(iter(replaced))["segments"].numpy()[0].decode()
    assert segments == "ok\n\ufffd\ufffd"
    with pytest.raises(ValueError, match="no such file"):
        documents_lib.text_files_dataset(str(tmp_path / "missing.txt"))
