import json

import numpy as np
import pytest

from tfllm.data import classification, documents, prompts
from tfllm.tokenizers import Tokenizer


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.train([], None, kind="byte")


def _write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_chat_loss_mask_on_response_only(tok, tmp_path):
    path = _write_jsonl(tmp_path / "chat.jsonl", [{"prompt": "hi", "response": "yo"}])
    b = next(iter(prompts.make_chat_dataset(path, tok, 24, 1)))
    prompt = tok.encode(prompts.CHAT_TEMPLATE.format(prompt="hi"))
    expected = [tok.bos_id] + prompt + tok.encode("yo") + [tok.eos_id]
    n = len(expected)
    assert b["token_ids"].numpy()[0, :n - 1].tolist() == expected[:-1]
    assert b["labels"].numpy()[0, :n - 1].tolist() == expected[1:]
    mask = b["loss_mask"].numpy()[0].tolist()
    assert mask == [0.0] * len(prompt) + [1.0] * 3 + [0.0] * (24 - len(prompt) - 3)
    assert b["padding_mask"].numpy()[0].sum() == n - 1


def test_preference_pairs(tok):
    records = [{"prompt": "Q:", "chosen": "good", "rejected": "bad!!"}]
    b = next(iter(prompts.make_preference_dataset(records, tok, 12, 1)))
    assert b["chosen_loss_mask"].numpy().sum() == 5  # "good" + <eos>
    assert b["rejected_loss_mask"].numpy().sum() == 6
    assert b["chosen_labels"].numpy()[0, 2:8].tolist() == tok.encode("good") + [2, 0]
    assert set(b) == {f"{s}_{k}" for s in ("chosen", "rejected")
                      for k in ("token_ids", "labels", "padding_mask", "loss_mask")}
    with pytest.raises(ValueError, match="record 0: missing field 'rejected'"):
        prompts.make_preference_dataset([{"prompt": "a", "chosen": "b"}], tok, 8, 1)


def test_preference_jsonl_errors(tok, tmp_path):
    records = [{"prompt": "a", "chosen": "b", "rejected": "c"}, {"prompt": "a"}]
    path = _write_jsonl(tmp_path / "p.jsonl", records)
    with pytest.raises(ValueError, match=r"p.jsonl:2: missing field 'chosen'"):
        prompts.make_preference_dataset(path, tok, 8, 1)


def test_classification_tsv_and_labels(tok, tmp_path):
    tsv = tmp_path / "sst.tsv"
    tsv.write_text("great movie\tpos\nawful\tneg\n")
    ds = classification.make_classification_dataset(str(tsv), tok, 8, 2, shuffle=False)
    b = {k: v.numpy() for k, v in next(iter(ds)).items()}
    assert b["label"].tolist() == [1, 0]  # sorted names: neg=0, pos=1
    assert b["token_ids"][1].tolist() == [tok.bos_id] + tok.encode("awful") + [0, 0]
    assert b["padding_mask"][0].all()
    assert classification.label_ids(["b", "a"], ["b", "a"]) == ([0, 1], ["b", "a"])
    with pytest.raises(ValueError, match="example 1: label 'c' not in"):
        classification.label_ids(["a", "c"], ["a", "b"])
    jsonl = _write_jsonl(tmp_path / "c.jsonl", [{"text": "x", "label": 3}])
    assert classification.read_examples(jsonl) == [("x", 3)]
    assert classification.label_ids([3, 0]) == ([3, 0], None)
    for bad, kind in ((1.5, "float"), (True, "bool"), (None, "NoneType")):
        path = _write_jsonl(tmp_path / "bad.jsonl", [{"text": "x", "label": 0},
                                                     {"text": "y", "label": bad}])
        with pytest.raises(ValueError, match=rf"bad.jsonl:2: label {bad!r} is a "
                                             rf"{kind}; labels are class names"):
            classification.make_classification_dataset(path, tok, 8, 1)
    tsv.write_text("great movie\tpos\n\nawful\tneutral\n")  # a blank line is skipped
    with pytest.raises(ValueError, match=r"sst.tsv:3: label 'neutral' not in label_names"):
        classification.make_classification_dataset(str(tsv), tok, 8, 1,
                                                   label_names=["neg", "pos"])
    tsv.write_text("")
    with pytest.raises(ValueError, match=r"sst.tsv: no examples \(empty file\)"):
        classification.make_classification_dataset(str(tsv), tok, 8, 1)
    with pytest.raises(ValueError, match="example 0: label -1 is negative"):
        classification.label_ids([-1])


def test_scored_documents_jsonl(tmp_path):
    path = _write_jsonl(tmp_path / "s.jsonl", [
        {"segments": ["a\n", "b"], "segment_scores": [0.5, 0.0]},
        {"text": "c", "score": 1.0}])
    assert documents.read_scored_documents(path) == [(["a\n", "b"], [0.5, 0.0]),
                                                     (["c"], [1.0])]
    bad = _write_jsonl(tmp_path / "bad.jsonl", [{"segments": ["a"], "segment_scores": []}])
    with pytest.raises(ValueError, match=r"bad.jsonl:1: 1 segments but 0"):
        documents.read_scored_documents(bad)


def test_chat_data_errors_name_the_file_and_line(tok, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ValueError, match=r"empty.jsonl: no records \(empty file\)"):
        prompts.make_chat_dataset(str(empty), tok, 24, 1)
    path = _write_jsonl(tmp_path / "chat.jsonl", [{"prompt": "hi", "response": "yo"},
                                                  {"prompt": 5, "response": "five"}])
    with pytest.raises(ValueError, match=r"chat.jsonl:2: field 'prompt' must be a string, "
                                         r"got int 5$"):
        prompts.make_chat_dataset(path, tok, 24, 1)


def test_responses_cut_off_by_the_sequence_length(tok, tmp_path):
    long_prompt = {"prompt": "p" * 40, "response": "r"}
    path = _write_jsonl(tmp_path / "chat.jsonl", [long_prompt, long_prompt])
    with pytest.raises(ValueError, match=r"chat.jsonl: every example's response is cut off "
                                         r"at sequence_length 24"):
        prompts.make_chat_dataset(path, tok, 24, 1)
    path = _write_jsonl(tmp_path / "some.jsonl", [long_prompt, {"prompt": "a", "response": "b"}])
    batch = next(iter(prompts.make_chat_dataset(path, tok, 24, 2, shuffle=False)))
    assert batch["loss_mask"].numpy().sum(axis=1).tolist() == [0.0, 2.0]  # "b" + <eos>
    with pytest.raises(ValueError, match=r"records \(chosen\): every example's response"):
        prompts.make_preference_dataset(
            [{"prompt": "q" * 10, "chosen": "c", "rejected": "r"}], tok, 4, 1)


def test_messages_loss_on_every_assistant_turn(tok):
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "a"},
                {"role": "assistant", "content": "bc"}, {"role": "user", "content": "d"},
                {"role": "assistant", "content": "e"}]
    b = next(iter(prompts.make_chat_dataset([{"messages": messages}], tok, 64, 1)))
    text = tok.decode(b["token_ids"].numpy()[0].tolist(), skip_special_tokens=False)
    assert text.rstrip("<pad>") == ("<bos>System: S\nUser: a\nAssistant: bc<eos>"
                                    "User: d\nAssistant: e")
    labels, mask = b["labels"].numpy()[0], b["loss_mask"].numpy()[0]
    assert tok.decode(labels[mask > 0].tolist(), skip_special_tokens=False) == (
        "bc<eos>e<eos>")


def test_one_turn_messages_equal_prompt_and_response(tok):
    turns = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]
    as_messages = next(iter(prompts.make_chat_dataset([{"messages": turns}], tok, 24, 1)))
    as_pair = next(iter(prompts.make_chat_dataset([{"prompt": "hi", "response": "yo"}],
                                                  tok, 24, 1)))
    for key, value in as_pair.items():
        np.testing.assert_array_equal(as_messages[key].numpy(), value.numpy())


@pytest.mark.parametrize("messages,message", [
    ([], "'messages' must be a non-empty list"),
    ([{"role": "bot", "content": "x"}], r"messages\[0\] must be"),
    ([{"role": "user", "content": 3}], r"messages\[0\] must be"),
    ([{"role": "user", "content": "x"}], "no assistant turn to learn from"),
])
def test_bad_messages_name_the_line(tok, tmp_path, messages, message):
    path = _write_jsonl(tmp_path / "chat.jsonl", [{"prompt": "a", "response": "b"},
                                                  {"messages": messages}])
    with pytest.raises(ValueError, match=f"chat.jsonl:2: {message}"):
        prompts.make_chat_dataset(path, tok, 24, 1)


def test_chat_templates_are_checked(tok):
    records = [{"prompt": "a", "response": "b"}]
    with pytest.raises(ValueError, match="expected a template for each of the roles"):
        prompts.make_chat_dataset(records, tok, 24, 1, template={"user": "{content}"})
    bad = dict(prompts.ROLE_TEMPLATES, assistant="no placeholder")
    with pytest.raises(ValueError, match=r"chat_template.assistant: 'no placeholder' must "
                                         r"hold '\{content\}' once"):
        prompts.make_chat_dataset(records, tok, 24, 1, template=bad)


def test_packing_keeps_every_example_whole_in_fewer_rows():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 17, 40)
    arrays = {"token_ids": np.zeros((40, 16), np.int32), "padding_mask": np.zeros((40, 16), bool),
              "loss_mask": np.zeros((40, 16), np.float32)}
    for i, n in enumerate(lengths):
        arrays["token_ids"][i, :n] = 100 + i
        arrays["padding_mask"][i, :n] = True
        arrays["loss_mask"][i, :n] = i
    packed = prompts.pack_examples(arrays, pad_id=0)
    assert len(packed["token_ids"]) < 40
    # A lower bound: no packing can use fewer rows than the tokens fill.
    assert len(packed["token_ids"]) >= np.ceil(lengths.sum() / 16)
    seen = {}
    for row in range(len(packed["token_ids"])):
        ids, segments = packed["token_ids"][row], packed["segment_ids"][row]
        assert (segments[:packed["padding_mask"][row].sum()] > 0).all()
        assert (ids[segments == 0] == 0).all()
        for segment in set(segments.tolist()) - {0}:
            where = segments == segment
            (example,) = set(ids[where] - 100)
            assert example not in seen and where.sum() == lengths[example]
            assert (packed["loss_mask"][row][where] == example).all()
            seen[example] = row
    assert sorted(seen) == list(range(40))
