"""tfllm.data: tf.data pipelines yielding the batch dicts of docs/ARCHITECTURE.md.

- `make_lm_dataset`: documents -> packed causal-LM batches (scores, segment ids).
- `make_seq2seq_dataset`, `make_chat_dataset`, `make_preference_dataset`,
  `make_classification_dataset`.
- `corpora.load(name, split)`: embedded corpora from the running Python.
- `sources`: reading text files, directories, globs, JSONL, TSV, TFDS.
"""

from tfllm.data import corpora, sources
from tfllm.data.classification import make_classification_dataset, read_examples
from tfllm.data.conditional import control_token_hook
from tfllm.data.distribute import shard
from tfllm.data.documents import (documents_dataset, filter_documents,
                                  read_scored_documents, text_files_dataset)
from tfllm.data.lm import make_lm_dataset
from tfllm.data.prompts import CHAT_TEMPLATE, make_chat_dataset, make_preference_dataset
from tfllm.data.seq2seq import make_seq2seq_dataset, read_pairs

__all__ = ["CHAT_TEMPLATE", "control_token_hook", "corpora", "documents_dataset",
           "filter_documents", "make_chat_dataset", "make_classification_dataset",
           "make_lm_dataset", "make_preference_dataset", "make_seq2seq_dataset",
           "read_examples", "read_pairs", "read_scored_documents", "shard", "sources",
           "text_files_dataset"]
