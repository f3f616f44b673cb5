"""Documents as (segments, segment_scores), document-level filtering, and document
datasets (in memory or streamed from files) that the LM pipeline consumes.

A document dataset yields {"segments": string [S], "scores": float32 [S]}.
"""

import numpy as np
import tensorflow as tf

from tfllm.data import sources
from tfllm.files import decode_utf8, expand_paths


def as_segments(document, where="document"):
    """(segments, scores) of a str, a (segments, segment_scores) pair, or any object with
    `segments` and `segment_scores` (tfllm.feedback.ScoredText, corpora.Document).

    A plain str is one segment with score 0.0.
    """
    if isinstance(document, str):
        return [document], [0.0]
    if hasattr(document, "segments") and hasattr(document, "segment_scores"):
        segments, scores = document.segments, document.segment_scores
    elif isinstance(document, (tuple, list)) and len(document) == 2:
        segments, scores = document
    else:
        raise ValueError(f"{where}: expected a str, a (segments, segment_scores) pair or a "
                         f"ScoredText, got {type(document).__name__}")
    segments, scores = list(segments), [float(s) for s in scores]
    if len(segments) != len(scores):
        raise ValueError(f"{where}: {len(segments)} segments but {len(scores)} "
                         f"segment_scores")
    if not all(isinstance(s, str) for s in segments):
        raise ValueError(f"{where}: segments must be str")
    return segments, scores


def document_score(document):
    """`document.document_score` if present, else the character-weighted mean of the
    segment scores (for pep8: violations per character)."""
    if hasattr(document, "document_score"):
        return float(document.document_score)
    segments, scores = as_segments(document)
    chars = sum(map(len, segments))
    return sum(s * len(g) for g, s in zip(segments, scores)) / chars if chars else 0.0


def segment_mean_score(document):
    """The unweighted mean of the segment scores (Korbak et al.'s document `avg_score`)."""
    _, scores = as_segments(document)
    return float(np.mean(scores)) if len(scores) else 0.0


FILTER_SCORES = {"per_char": document_score, "segment_mean": segment_mean_score}


def filter_documents(documents, threshold=None, percentile=None, score="per_char"):
    """Keeps documents whose score is <= a threshold (the filtering objective's data).

    Args:
        documents: documents accepted by `as_segments` (or with `document_score`).
        threshold: absolute misalignment threshold.
        percentile: or a percentile of the corpus's document scores (e.g. 90 drops
            the worst ~10%).
        score: "per_char" (`document_score`: character-weighted) or "segment_mean"
            (`segment_mean_score`: every line counts once, as in Korbak et al.).
    """
    if (threshold is None) == (percentile is None):
        raise ValueError("filter_documents: give exactly one of threshold, percentile")
    if score not in FILTER_SCORES:
        raise ValueError(f"filter_documents: score {score!r} is not one of "
                         f"{sorted(FILTER_SCORES)}")
    documents = list(documents)
    scores = np.array([FILTER_SCORES[score](d) for d in documents])
    if percentile is not None:
        if not 0 <= percentile <= 100:
            raise ValueError(f"filter_documents: percentile {percentile} not in [0, 100]")
        threshold = float(np.percentile(scores, percentile)) if len(scores) else 0.0
    return [d for d, s in zip(documents, scores) if s <= threshold]


def documents_dataset(documents):
    """An in-memory document dataset (checkpointable, no Python generator)."""
    if hasattr(documents, "documents") and not isinstance(documents, (list, tuple)):
        documents = documents.documents
    segments, scores, lengths = [], [], []
    for i, document in enumerate(documents):
        doc_segments, doc_scores = as_segments(document, where=f"document {i}")
        segments.extend(doc_segments)
        scores.extend(doc_scores)
        lengths.append(len(doc_segments))
    if not lengths:
        raise ValueError("documents_dataset: no documents (empty corpus)")
    lengths = tf.constant(lengths, tf.int64)
    return tf.data.Dataset.from_tensor_slices({
        "segments": tf.RaggedTensor.from_row_lengths(
            tf.constant(segments, tf.string, shape=[len(segments)]), lengths),
        "scores": tf.RaggedTensor.from_row_lengths(
            tf.constant(scores, tf.float32, shape=[len(scores)]), lengths),
    })


def text_files_dataset(paths, errors="strict", suffixes=None):
    """A streaming document dataset: one document per file, read lazily.

    Files are listed up front (`tfllm.files.expand_paths`) but read one at a time inside
    tf.data, so corpora larger than memory work. Invalid UTF-8 stops iteration with an
    error naming the file and byte offset (or is replaced with U+FFFD when
    errors="replace").
    """
    files = expand_paths(paths, suffixes)
    if errors not in ("strict", "replace"):
        raise ValueError(f"errors={errors!r}: expected 'strict' or 'replace'")

    def check(path, data):
        path = path.numpy().decode("utf-8")
        return decode_utf8(data.numpy(), path, errors).encode("utf-8")

    def read(path):
        data = tf.io.read_file(path)
        data = tf.py_function(check, [path, data], tf.string)
        data.set_shape([])
        return {"segments": data[tf.newaxis], "scores": tf.zeros([1], tf.float32)}

    return tf.data.Dataset.from_tensor_slices(files).map(read)


def read_scored_documents(path, errors="strict"):
    """Scored documents from JSONL: {"segments": [...], "segment_scores": [...]} or
    {"text": ..., "score": ...} (one segment) per line; returns (segments, scores) pairs.
    """
    out = []
    for number, record in sources.read_jsonl(path, (), errors, line_numbers=True):
        where = f"{path}:{number}"
        if "segments" in record:
            if "segment_scores" not in record:
                raise ValueError(f"{where}: missing field 'segment_scores'")
            out.append(as_segments((record["segments"], record["segment_scores"]), where))
        elif "text" in record and "score" in record:
            out.append(as_segments(([record["text"]], [record["score"]]), where))
        else:
            raise ValueError(f"{where}: expected fields 'segments' + 'segment_scores' "
                             f"or 'text' + 'score'")
    if not out:
        raise ValueError(f"{path}: no documents (empty corpus)")
    return out
