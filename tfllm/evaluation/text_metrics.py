"""Text generation metrics through sacrebleu and rouge-score, plus QA and diversity metrics.

BLEU, chrF and self-BLEU are on sacrebleu's 0-100 scale; everything else is 0-1.
`references` is a list with one str per hypothesis, or one list of str per hypothesis
(several references each, the same number for every hypothesis for BLEU/chrF).
"""

import collections
import re
import string


def bleu(hypotheses, references, **options):
    """Corpus BLEU (sacrebleu.corpus_bleu; `options` go to sacrebleu.metrics.BLEU)."""
    import sacrebleu  # pylint: disable=import-outside-toplevel
    hypotheses, streams = _sacrebleu_inputs(hypotheses, references, "bleu")
    return float(sacrebleu.metrics.BLEU(**options).corpus_score(hypotheses, streams).score)


def chrf(hypotheses, references, **options):
    """Corpus chrF (sacrebleu; `options` go to sacrebleu.metrics.CHRF, e.g. word_order=2)."""
    import sacrebleu  # pylint: disable=import-outside-toplevel
    hypotheses, streams = _sacrebleu_inputs(hypotheses, references, "chrf")
    return float(sacrebleu.metrics.CHRF(**options).corpus_score(hypotheses, streams).score)


def rouge(hypotheses, references, types=("rouge1", "rouge2", "rougeL"), use_stemmer=True):
    """Mean ROUGE F-measure per type (rouge-score); several references take the best."""
    from rouge_score import rouge_scorer  # pylint: disable=import-outside-toplevel
    hypotheses, refs = _check_pairs(hypotheses, references, "rouge")
    bad = [t for t in types if not re.fullmatch(r"rouge[1-9]|rougeL|rougeLsum", t)]
    if bad or not types:
        raise ValueError(f"rouge: bad types {tuple(types)}; "
                         "expected rouge1..rouge9, rougeL, rougeLsum")
    scorer = rouge_scorer.RougeScorer(list(types), use_stemmer=use_stemmer)
    totals = dict.fromkeys(types, 0.0)
    for hypothesis, candidates in zip(hypotheses, refs):
        for name, value in scorer.score_multi(candidates, hypothesis).items():
            totals[name] += value.fmeasure
    return {name: total / len(hypotheses) for name, total in totals.items()}


def exact_match(predictions, references, normalize=True):
    """Fraction of predictions equal to a reference (SQuAD normalization if `normalize`)."""
    predictions, refs = _check_pairs(predictions, references, "exact_match")
    norm = normalize_answer if normalize else (lambda s: s)
    hits = [any(norm(p) == norm(r) for r in candidates) for p, candidates in zip(predictions, refs)]
    return sum(hits) / len(hits)


def token_f1(predictions, references):
    """SQuAD-style bag-of-tokens F1 after normalization, best reference, mean over examples."""
    predictions, refs = _check_pairs(predictions, references, "token_f1")
    return sum(max(_f1(p, r) for r in candidates)
               for p, candidates in zip(predictions, refs)) / len(predictions)


def distinct_n(texts, n):
    """Unique n-grams / total n-grams over all texts (whitespace tokens); 0.0 if none."""
    texts = _check_texts(texts, "distinct_n")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"distinct_n: n must be an int >= 1, got {n!r}")
    ngrams = [tuple(tokens[i:i + n]) for tokens in (t.split() for t in texts)
              for i in range(len(tokens) - n + 1)]
    return len(set(ngrams)) / len(ngrams) if ngrams else 0.0


def self_bleu(texts, max_ngram_order=4):
    """Mean sentence BLEU of each text against all the others (sacrebleu, effective order)."""
    from sacrebleu.metrics import BLEU  # pylint: disable=import-outside-toplevel
    texts = _check_texts(texts, "self_bleu")
    if len(texts) < 2:
        raise ValueError(f"self_bleu: needs at least 2 texts, got {len(texts)}")
    metric = BLEU(effective_order=True, max_ngram_order=max_ngram_order)
    return sum(metric.sentence_score(text, texts[:i] + texts[i + 1:]).score
               for i, text in enumerate(texts)) / len(texts)


def normalize_answer(text):
    """SQuAD normalization: lowercase, drop punctuation and articles, squeeze whitespace."""
    text = "".join(c for c in text.lower() if c not in string.punctuation)
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def _f1(prediction, reference):
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _check_texts(texts, where):
    if isinstance(texts, str):
        raise ValueError(f"{where}: expected a list of str, got a single str")
    texts = list(texts)
    if not texts:
        raise ValueError(f"{where}: empty input")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValueError(f"{where}: element {i} is {type(text).__name__}, expected str")
    return texts


def _check_pairs(hypotheses, references, where):
    """Returns (hypotheses, references as a list of non-empty lists of str)."""
    hypotheses = _check_texts(hypotheses, where)
    if isinstance(references, str):
        raise ValueError(f"{where}: references must be a list, got a single str")
    refs = [[r] if isinstance(r, str) else list(r) for r in references]
    if len(refs) != len(hypotheses):
        raise ValueError(f"{where}: {len(hypotheses)} hypotheses but {len(refs)} references")
    for i, candidates in enumerate(refs):
        if not candidates or not all(isinstance(r, str) for r in candidates):
            raise ValueError(f"{where}: references[{i}] must be a str or a non-empty list of str")
    return hypotheses, refs


def _sacrebleu_inputs(hypotheses, references, where):
    """Hypotheses and sacrebleu's reference streams (one list per reference position)."""
    hypotheses, refs = _check_pairs(hypotheses, references, where)
    counts = {len(candidates) for candidates in refs}
    if len(counts) != 1:
        raise ValueError(f"{where}: every hypothesis needs the same number of references, "
                         f"got {sorted(counts)}")
    return hypotheses, [list(stream) for stream in zip(*refs)]
