import pytest

from tfllm.data import benchmark
from tfllm.tokenizers import Tokenizer


def test_measure_throughput_counts_tokens():
    tok = Tokenizer.train([], None, kind="byte")
    docs = [f"def f{i}(x):\n    return x + {i}\n" for i in range(50)]
    result = benchmark.measure_throughput(tok, docs, 32, 4, 5)
    assert result["num_batches"] == 5
    assert result["tokens_per_s"] == pytest.approx(5 * 4 * 32 / result["seconds"])
    assert result["tokens_per_s"] > 0 and result["first_batch_s"] > 0
    with pytest.raises(ValueError, match="num_batches"):
        benchmark.measure_throughput(tok, docs, 32, 4, 0)
