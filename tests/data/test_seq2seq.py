import pytest

from tfllm.data import seq2seq
from tfllm.tokenizers import Tokenizer


@pytest.fixture(scope="module")
def tok():
    return Tokenizer.train([], None, kind="byte")


def test_read_pairs_tsv_and_jsonl(tmp_path):
    tsv = tmp_path / "fra.tsv"
    tsv.write_text("Go.\tVa !\tCC-BY 2.0 (France) Attribution\nHi.\tSalut !\textra\n\n")
    assert seq2seq.read_pairs(str(tsv)) == [("Go.", "Va !"), ("Hi.", "Salut !")]
    jsonl = tmp_path / "pairs.jsonl"
    jsonl.write_text('{"source": "a", "target": "b"}\n\n{"source": "c", "target": "d"}\n')
    assert seq2seq.read_pairs(str(jsonl)) == [("a", "b"), ("c", "d")]


def test_bad_pair_files(tmp_path):
    tsv = tmp_path / "bad.tsv"
    tsv.write_text("Go.\tVa !\nonly one column\n")
    with pytest.raises(ValueError, match=r"bad.tsv:2: expected at least 2 tab-separated "
                                         r"columns, got 1"):
        seq2seq.read_pairs(str(tsv))
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"source": "a", "target": "b"}\n{"source": "c"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: missing field 'target'"):
        seq2seq.read_pairs(str(jsonl))
    jsonl.write_text('{"source": "a", "target": "b"}\n{"source": \n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: invalid JSON"):
        seq2seq.read_pairs(str(jsonl))
    with pytest.raises(ValueError, match="no such file"):
        seq2seq.read_pairs(str(tmp_path / "missing.tsv"))
    with pytest.raises(ValueError, match="unknown pairs format"):
        seq2seq.read_pairs(str(tmp_path / "pairs.csv"))


def test_batches(tok):
    pairs = [("hello", "bonjour"), ("a", "b"), ("x" * 30, "y")]
    batches = list(seq2seq.make_seq2seq_dataset(pairs, tok, 8, shuffle=False))
    b = {k: v.numpy() for k, v in batches[0].items()}
    assert b["encoder_token_ids"].shape == (3, 31)
    assert b["encoder_token_ids"][0, :6].tolist() == tok.encode("hello") + [tok.eos_id]
    assert b["encoder_padding_mask"].sum(axis=1).tolist() == [6, 2, 31]
    assert b["decoder_token_ids"][0].tolist() == [tok.bos_id] + tok.encode("bonjour")
    assert b["labels"][0].tolist() == tok.encode("bonjour") + [tok.eos_id]
    assert b["loss_mask"][1].tolist() == [1, 1, 0, 0, 0, 0, 0, 0]
    assert (b["decoder_padding_mask"] == (b["loss_mask"] > 0)).all()


def test_bucketing_groups_by_length(tok):
    pairs = [("s" * n, "t" * n) for n in (2, 30, 3, 31, 2, 29)]
    batches = list(seq2seq.make_seq2seq_dataset(pairs, tok, 3, shuffle=False,
                                                bucket_boundaries=[10]))
    widths = sorted(int(b["encoder_token_ids"].shape[1]) for b in batches)
    assert widths == [4, 32]
    assert sum(int(b["labels"].shape[0]) for b in batches) == 6


def test_truncation(tok):
    b = next(iter(seq2seq.make_seq2seq_dataset([("abcdef", "uvwxyz")], tok, 1,
                                               max_source_length=3, max_target_length=4)))
    assert b["encoder_token_ids"].numpy().tolist() == [tok.encode("abc")]
    assert b["decoder_token_ids"].numpy().tolist() == [[tok.bos_id] + tok.encode("uvw")]
    assert b["labels"].numpy().tolist() == [tok.encode("uvwx")]
