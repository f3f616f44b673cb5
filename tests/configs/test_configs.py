"""configs/: every config loads as the binaries load it, and tfllm.bin.defaults' section
functions replace only the fields they are given."""

import pathlib

import pytest
from absl import flags
from ml_collections import config_flags

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIGS = sorted(p.name for p in (ROOT / "configs").glob("*.py"))
VARIANTS = ("phf_pep8.py:mle", "reward_sentiment.py:encoder", "speedrun.py:nanogpt",
            "chat_sft.py:lora")


@pytest.fixture(scope="module")
def common():
    from tfllm.bin import defaults
    return defaults


def parse(argument):
    """`--config=argument` through the flag tfllm.bin.common.define_flags defines."""
    argv = ["tfllm", f"--config={argument}"]
    values = flags.FlagValues()
    # sys_argv: config_flags otherwise reads its overrides from sys.argv, which tests of the
    # binaries in the same process set to their own --config.x=y arguments
    config_flags.DEFINE_config_file("config", None, "", flag_values=values, lock_config=True,
                                    sys_argv=argv)
    values(argv)
    return values.config


@pytest.mark.parametrize("name", CONFIGS + list(VARIANTS))
def test_every_config_loads_as_the_binaries_load_it(name, common, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    config = parse(f"configs/{name}")  # as the docs run the binaries
    monkeypatch.chdir(tmp_path)  # the same config from another working directory
    assert parse(str(ROOT / "configs" / name)).to_dict() == config.to_dict()
    assert config.is_locked
    if "steps" in config.get("training", {}):  # the trainer binaries' sections
        for section, defaults in (("training", common.TRAINING), ("optimizer", common.OPTIMIZER),
                                  ("schedule", common.SCHEDULE)):
            assert set(config[section]) == set(defaults), section
    if "lora" in config:  # the binaries that fine-tune a trained model
        assert set(config.lora) == set(common.LORA)


def test_training_replaces_only_the_named_fields(common):
    named = {"steps": 7, "sample_prompt": "def ", "checkpoint_every_minutes": 5}
    training = common.training(**named)
    assert (training["steps"], training["sample_prompt"]) == (7, "def ")
    # An int for a float field becomes a float, as with --config.training.field=.
    assert isinstance(training["checkpoint_every_minutes"], float)
    assert training["checkpoint_every_minutes"] == 5.0
    assert list(training) == list(common.TRAINING)
    assert {k: v for k, v in training.items() if k not in named} == {
        k: v for k, v in common.TRAINING.items() if k not in named}
    # Hand-checked defaults, and the defaults are not changed by a call.
    assert (training["batch_size"], training["clip_norm"], training["precision"],
            training["keep_checkpoints"], training["progress"]) == (32, 1.0, "float32", 2, False)
    assert (common.TRAINING["steps"], common.TRAINING["sample_prompt"]) == (300, "")
    assert common.training() == common.TRAINING


def test_optimizer_and_schedule(common):
    assert common.optimizer(beta_2=0.95) == {"kind": "adamw", "weight_decay": 0.01,
                                             "beta_1": 0.9, "beta_2": 0.95, "epsilon": 1e-8}
    assert common.schedule(peak_learning_rate=3e-4, warmup_steps=20) == {
        "peak_learning_rate": 3e-4, "warmup_steps": 20, "decay": "cosine", "decay_steps": 0,
        "final_fraction": 0.1, "cooldown_fraction": 0.2}


def test_unknown_or_mistyped_fields_fail(common):
    with pytest.raises(KeyError, match="stpes"):
        common.training(stpes=10)
    with pytest.raises(KeyError, match="beta2"):
        common.optimizer(beta2=0.95)
    with pytest.raises(TypeError, match="warmup_steps"):
        common.schedule(warmup_steps="30")


def test_lora_defaults_are_off_and_the_variant_sets_them(common, monkeypatch):
    assert common.lora() == {"rank": 0, "alpha": 0.0, "target": "query_key_value"}
    monkeypatch.chdir(ROOT)
    assert parse("configs/chat_sft.py:lora").lora.to_dict() == {
        "rank": 8, "alpha": 16.0, "target": "attention,feed_forward"}
    with pytest.raises(TypeError, match="rank"):
        common.lora(rank="8")
