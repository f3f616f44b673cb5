"""Training-data leakage: does a sample repeat a verbatim span of the training split?

`VerbatimIndex(train_texts, span=50)` holds a 64-bit polynomial hash of every
`span`-character window of the training texts (windows never cross two texts);
`index.leaks(text)` is True when some `span`-character window of `text` is one of them.
A false positive needs a 64-bit hash collision (about n_train * n_query / 2^64).
"""

import numpy as np

_BASE = np.uint64(1_000_003)
_SEPARATOR = "\x00"  # joins training texts; queries are split at it, so no match spans two


def _window_hashes(codes, span):
    """Hashes of all `span`-long windows of the uint64 array `codes` (wrapping mod 2^64)."""
    if len(codes) < span:
        return np.zeros(0, np.uint64)
    with np.errstate(over="ignore"):
        inverse = np.uint64(pow(int(_BASE), -1, 2 ** 64))
        inverse_powers = np.empty(len(codes), np.uint64)
        inverse_powers[0] = 1
        inverse_powers[1:] = inverse
        inverse_powers = np.cumprod(inverse_powers, dtype=np.uint64)
        prefix = np.zeros(len(codes) + 1, np.uint64)
        prefix[1:] = np.cumsum(codes * inverse_powers, dtype=np.uint64)
        powers = np.empty(len(codes) - span + 1, np.uint64)
        powers[0] = pow(int(_BASE), span - 1, 2 ** 64)
        powers[1:] = _BASE
        powers = np.cumprod(powers, dtype=np.uint64)
        # sum_t c[t] B^-t over the window, times B^(i + span - 1).
        return (prefix[span:] - prefix[:-span]) * powers


def _codes(text):
    return np.frombuffer(text.encode("utf-32-le"), np.uint32).astype(np.uint64)


class VerbatimIndex:
    """Every `span`-character window of `texts`, for `leaks` queries."""

    def __init__(self, texts, span=50):
        if span < 1:
            raise ValueError(f"VerbatimIndex: span must be >= 1, got {span}")
        self.span = int(span)
        self._hashes = np.unique(_window_hashes(_codes(_SEPARATOR.join(texts)), self.span))

    def __len__(self):
        return len(self._hashes)

    def leaks(self, text):
        """True if `text` contains a `span`-character window of the indexed texts."""
        if _SEPARATOR in text:
            return any(self.leaks(part) for part in text.split(_SEPARATOR))
        queries = _window_hashes(_codes(text), self.span)
        if not len(queries) or not len(self._hashes):
            return False
        found = np.searchsorted(self._hashes, queries)
        found = np.minimum(found, len(self._hashes) - 1)
        return bool(np.any(self._hashes[found] == queries))

    def leaked_share(self, texts):
        """The share of `texts` that `leaks` (0.0 for no texts)."""
        texts = list(texts)
        return sum(map(self.leaks, texts)) / len(texts) if texts else 0.0
