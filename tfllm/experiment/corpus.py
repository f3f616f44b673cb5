"""Texts and pairs of a config's data section, by split."""


def corpus_texts(config, split):
    """Texts of `split` ("train", "validation", "test"): config.data.files (every
    `validation_every`-th file is validation; a single file gives its last 5% of lines,
    at least one, to validation), a TensorFlow Datasets text field (config.data.tfds:
    name, text_key, data_dir, splits {split: TFDS split}; tfllm.bin.defaults.tfds) or
    the embedded config.data.corpus."""
    from tfllm import files
    from tfllm.data import corpora

    data = config.data
    tfds = dict(data.get("tfds") or {})
    if tfds.get("name"):
        from tfllm.data.sources import load_tfds

        splits = dict(tfds.get("splits") or {})
        if split not in splits:
            raise ValueError(f"config.data.tfds.splits has no TFDS split for {split!r}")
        return list(load_tfds(tfds["name"], splits[split], tfds.get("text_key", "text"),
                              tfds.get("data_dir")))
    if data.get("files"):
        texts = list(files.read_texts(data.files.split(","), suffixes=(".py", ".txt")))
        if len(texts) == 1:
            lines = texts[0].splitlines(keepends=True)
            if len(lines) < 2:
                raise ValueError(f"config.data.files: a single file of {len(lines)} line(s) "
                                 "cannot be split into train and validation text")
            cut = len(lines) - max(1, len(lines) // 20)
            return ["".join(lines[:cut] if split == "train" else lines[cut:])]
        every = int(data.get("validation_every", 20))
        texts = [t for i, t in enumerate(texts) if (i % every == 0) == (split != "train")]
        if not texts:
            raise ValueError(f"config.data.files: no {split} documents")
        return texts
    return corpora.load_from_config(data, split).texts


def corpus_documents(config, split):
    """config.data.files' texts of `split`, else the corpus' scored documents."""
    from tfllm.data import corpora

    data = config.data
    if data.get("files") or (data.get("tfds") or {}).get("name"):
        return corpus_texts(config, split)
    return corpora.load_from_config(data, split)


def scored_documents(config, split):
    """The corpus documents of `split` (`corpus_documents`), scored by config.data.scorer
    when one is named (a list of ScoredText), else as they come."""
    documents = corpus_documents(config, split)
    name = config.data.get("scorer", "")
    if not name:
        return documents
    from tfllm.feedback import get_scorer

    texts = [getattr(d, "text", d) for d in getattr(documents, "documents", documents)]
    return get_scorer(name, **dict(config.data.get("scorer_options") or {})).score(texts)


def seq2seq_pairs(config, split, path=""):
    """(source, target) pairs of `split` ("train" | "test") from `path` (TSV/JSONL), else
    config.data.<split>_file, else the embedded config.data.corpus ([] for a missing test
    split); the train split is cut to config.data.max_train_pairs (0: all)."""
    from tfllm.data import corpora
    from tfllm.data.seq2seq import read_pairs

    path = path or config.data.get(f"{split}_file", "")
    if path:
        pairs = read_pairs(path)
    elif config.data.get("corpus"):
        pairs = list(corpora.load(config.data.corpus, split=split).pairs)
    elif split == "train":
        raise ValueError("seq2seq training needs --train_file, config.data.train_file "
                         "or config.data.corpus")
    else:
        return []
    limit = config.data.get("max_train_pairs", 0) if split == "train" else 0
    return pairs[:limit] if limit else pairs
