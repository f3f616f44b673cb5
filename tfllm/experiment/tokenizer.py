"""The one tokenizer loader: a workdir's tokenizer, trained once and then loaded."""

import os

TOKENIZER_DIR = "tokenizer"


def tokenizer_for(config, workdir, texts=None, init_workdir=""):
    """Loads `<workdir>/tokenizer`; else copies `<init_workdir>/tokenizer` there (if
    given) and loads it; else trains one from config.tokenizer on `texts()` (default:
    the corpus' train texts) and saves it there."""
    import shutil

    from tfllm.experiment.corpus import corpus_texts
    from tfllm.tokenizers import Tokenizer

    path = os.path.join(workdir, TOKENIZER_DIR)
    if not os.path.isdir(path) and init_workdir:
        shutil.copytree(os.path.join(init_workdir, TOKENIZER_DIR), path)
    if os.path.isdir(path):
        return Tokenizer.load(path)
    t = config.tokenizer
    training_texts = texts() if texts is not None else corpus_texts(config, "train")
    tokenizer = Tokenizer.train(training_texts, t.vocabulary_size, kind=t.kind,
                                control_tokens=tuple(t.get("control_tokens", ())),
                                **dict(t.get("options", {})))
    tokenizer.save(path)
    return tokenizer
