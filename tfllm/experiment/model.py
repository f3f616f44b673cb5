"""Models of a config (new) or of a workdir (model.json + the newest checkpoint)."""

import json
import os

from tfllm.experiment.tokenizer import TOKENIZER_DIR
from tfllm.models.restore import MODEL_FILE, load_model, model_from_spec  # noqa: F401


def read_json(path):
    """A workdir's JSON file (config.json, model.json, eval/metrics.json)."""
    if not os.path.isfile(path):
        raise ValueError(f"{path}: missing (was the workdir made by tfllm-pretrain/finetune?)")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def build_model(config, vocabulary_size):
    """A new model from config.model: `kind` ("decoder_lm" | "seq2seq" |
    "encoder_classifier", whose num_classes defaults to len(config.data.label_names)),
    `preset`, overrides."""
    from tfllm.models import DECODER_PRESETS, DecoderLM, EncoderClassifier, Seq2SeqTransformer

    fields = dict(config.model)
    kind = fields.pop("kind", "decoder_lm")
    preset = fields.pop("preset", None)
    fields["vocabulary_size"] = vocabulary_size
    if kind == "decoder_lm":
        if preset and preset not in DECODER_PRESETS:
            raise ValueError(f"config.model.preset={preset!r}: expected one of "
                             f"{sorted(DECODER_PRESETS)}")
        base = dict(DECODER_PRESETS[preset]) if preset else {}
        return DecoderLM(**{**base, **fields})
    if kind == "seq2seq":
        return Seq2SeqTransformer(**fields)
    if kind == "encoder_classifier":
        fields.setdefault("num_classes", len(config.data.get("label_names") or ()))
        if fields["num_classes"] < 2:
            raise ValueError("encoder_classifier: config.data.label_names must name at "
                             "least 2 classes")
        return EncoderClassifier(**fields)
    raise ValueError(f"config.model.kind={kind!r}: expected 'decoder_lm', 'seq2seq' or "
                     "'encoder_classifier'")


def model_from_json(workdir):
    """The model `<workdir>/model.json` describes, with new (untrained) weights."""
    return model_from_spec(read_json(os.path.join(workdir, MODEL_FILE)))


def load_model_and_tokenizer(workdir):
    """The workdir's model (`load_model`) and tokenizer, checked to belong together."""
    from tfllm.tokenizers import Tokenizer

    model = load_model(workdir)
    tokenizer = Tokenizer.load(os.path.join(workdir, TOKENIZER_DIR))
    tokenizer.check_model(model, workdir)
    return model, tokenizer


def wants_ilql(config):
    """config.model.kind == "ilql" (configs without a model section start from a workdir)."""
    return (config.get("model") or {}).get("kind") == "ilql"


def start_model(config, workdir):
    """The model of `workdir` (an init workdir); with config.model.kind="ilql" a
    DecoderLM gets ILQL heads (an ILQLModel, beta config.model.beta) and an ILQLModel is
    kept."""
    from tfllm.models import DecoderLM, ILQLModel

    model = load_model(workdir)
    if not wants_ilql(config) or isinstance(model, ILQLModel):
        return model
    if not isinstance(model, DecoderLM):
        raise ValueError(f"config.model.kind='ilql' needs a DecoderLM in --init_workdir "
                         f"{workdir}, not a {type(model).__name__}")
    return ILQLModel(model, beta=config.model.get("beta", 1.0))


def lora_settings(config, start):
    """`enable_lora`'s arguments from config.lora (rank, alpha, target: comma-separated
    names, tfllm.models.lora), or None when LoRA is off (rank 0 or no section); ValueError
    naming the field for settings that cannot run. `start`: the trained model's workdir."""
    lora = config.get("lora") or {}
    rank = lora.get("rank", 0)
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 0:
        raise ValueError(f"config.lora.rank={rank!r}: expected an int >= 0 (0: LoRA off)")
    if not rank:
        return None
    alpha = lora.get("alpha", 0.0)
    if alpha < 0:
        raise ValueError(f"config.lora.alpha={alpha!r}: expected >= 0 (0: the rank, so "
                         "the update is not scaled)")
    names = [name.strip() for name in str(lora.get("target", "")).split(",") if name.strip()]
    if not names:
        raise ValueError("config.lora.target is empty: name the layers to adapt, e.g. "
                         "'query_key_value' or 'attention,feed_forward'")
    if not start:
        raise ValueError(f"config.lora.rank={rank}: LoRA fine-tunes a trained model; give "
                         "--init_workdir or config.init_from")
    if wants_ilql(config):
        raise ValueError("config.lora.rank > 0 with config.model.kind='ilql': the new Q and "
                         "V heads train in full; set config.lora.rank=0")
    return dict(rank=rank, lora_alpha=float(alpha) or None, target_layer_names=names)


def with_lora(model, settings):
    """`model` with LoRA enabled by `settings` (`lora_settings`; None: unchanged)."""
    if settings:
        try:
            model.enable_lora(**settings)
        except ValueError as e:
            raise ValueError(f"config.lora.target={','.join(settings['target_layer_names'])!r}"
                             f": {e}") from e
    return model
