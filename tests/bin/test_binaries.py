"""The binaries end to end on lm_tiny / seq2seq_small: flags and one-line errors (real
console scripts), pretrain -> generate -> evaluate from the workdir alone, resume of a
finished run, chat SFT with the prompt masked, seq2seq fine-tuning on a TSV."""

import json
import os
import re
import shutil
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.bin.binaries import (FLAGS, PAIRS_TSV, PROMPTS, QUIET, ROOT, SEQ2SEQ, TINY, call,
                                parse, script)
from tests.tensorboard_server import Board
from tfllm import experiment
from tfllm.bin import common, evaluate, finetune, generate, pretrain


def test_help_and_one_line_errors(tmp_path):
    runs = {
        "help": script("tfllm-pretrain", "--help"),
        "unknown field": script("tfllm-pretrain", f"--config={TINY}", f"--workdir={tmp_path}",
                                "--config.training.no_such_field=1"),
        # refused in main, before anything is written
        "zero steps": script("tfllm-pretrain", f"--config={TINY}", f"--workdir={tmp_path}",
                             "--config.training.steps=0"),
        "misspelled field": script("tfllm-pretrain", f"--config={TINY}",
                                   f"--workdir={tmp_path}", "--config.training.stepz=3"),
        "misspelled section": script("tfllm-pretrain", f"--config={TINY}",
                                     f"--workdir={tmp_path}", "--config.trainingg.steps=3"),
        "missing config": script("tfllm-finetune", "--config=configs/no_such_file.py",
                                 f"--workdir={tmp_path}"),
        "bad value": script("tfllm-evaluate", f"--config={TINY}", f"--workdir={tmp_path}",
                            "--config.training.steps=many"),
        # each binary defines only the flags it reads: tfllm-generate has no strategy
        "unread flag": script("tfllm-generate", f"--workdir={tmp_path}", "--strategy=mirrored"),
    }
    out = {name: process.communicate(timeout=300) + (process.returncode,)
           for name, process in runs.items()}
    stdout, _, code = out.pop("help")
    assert code == 0
    for flag in ("--config", "--workdir", "--strategy", "--cpu_devices"):
        assert flag in stdout
    expected = {"unknown field": "tfllm-pretrain: error: unknown config field "
                                 "--config.training.no_such_field",
                "misspelled field": "tfllm-pretrain: error: unknown config field "
                                    "--config.training.stepz (did you mean steps?)",
                "misspelled section": "tfllm-pretrain: error: unknown config field "
                                      "--config.trainingg.steps (did you mean training?)",
                "zero steps": "tfllm-pretrain: error: config.training.steps=0: train for at "
                              "least 1 step",
                "missing config": "tfllm-finetune: error: --config: no such file "
                                  "'configs/no_such_file.py'",
                "bad value": "tfllm-evaluate: error: flag --config.training.steps=many",
                "unread flag": "tfllm-generate: error: Unknown command line flag 'strategy'"}
    for name, (_, stderr, code) in out.items():
        assert code == 1, name
        assert len(stderr.splitlines()) == 1, (name, stderr)
        assert stderr.startswith(expected[name]), (name, stderr)
    assert not os.listdir(tmp_path)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("pretrain"))
    call(pretrain.main, f"--config={TINY}", f"--workdir={workdir}", *QUIET)
    return workdir


def test_pretraining_continues_from_init_from(pretrained, tmp_path):
    # at learning rate 0 the continued run keeps the start's (trained) weights, which no
    # new initialization has
    continued = str(tmp_path / "continued")
    call(pretrain.main, f"--config={TINY}", f"--workdir={continued}",
         f"--config.init_from={pretrained}", "--config.training.steps=1",
         "--config.schedule.peak_learning_rate=0.0", *QUIET)
    start = experiment.load_model(pretrained).get_weights()
    weights = experiment.load_model(continued).get_weights()
    assert len(weights) == len(start) and all(np.array_equal(a, b)
                                              for a, b in zip(start, weights))
    assert os.listdir(os.path.join(continued, "tokenizer")) == os.listdir(
        os.path.join(pretrained, "tokenizer"))


def test_a_tokenizer_from_another_run_is_refused(pretrained, tmp_path):
    from tfllm.tokenizers import Tokenizer

    workdir = tmp_path / "swapped"
    shutil.copytree(pretrained, workdir)
    shutil.rmtree(workdir / "tokenizer")
    Tokenizer.train([], None, kind="byte", control_tokens=("<|x|>",)).save(
        str(workdir / "tokenizer"))
    for main, args in ((generate.main, ["--prompt=def "]), (evaluate.main, [])):
        with pytest.raises(ValueError, match=r"swapped: the model has 261 token ids but "
                                             r"its tokenizer 262: a tokenizer from another"):
            call(main, f"--workdir={workdir}", *args)


def test_pretrain_then_generate_and_evaluate_from_the_workdir(pretrained, capsys):
    assert common.checkpoint_step(pretrained) == 6
    generated = script("tfllm-generate", f"--workdir={pretrained}", "--prompt=def ",
                       "--prompt=x = ", "--max_new_tokens=8", "--sampler=greedy")
    call(evaluate.main, f"--workdir={pretrained}")
    metrics = json.load(open(os.path.join(pretrained, "eval", "metrics.json")))
    assert np.isfinite(metrics["perplexity"]) and metrics["perplexity"] > 1.0
    assert metrics["perplexity"] == pytest.approx(np.exp(metrics["loss"]))
    assert 0.0 <= metrics["accuracy"] <= 1.0 and metrics["tokens"] == 2 * 4 * 32
    # TensorBoard's hparams dashboard: the run's config beside its training and
    # tfllm-evaluate metrics (the run "eval" below the training run)
    board = Board(pretrained)  # the logdir of the end-of-run hint
    hparams = board.get("data/plugin/hparams/experiment", {"experimentName": ""})
    assert {h["name"] for h in hparams["hparamInfos"]} >= {"training.steps", "model.preset"}
    metric_names = {(m["name"]["group"], m["name"]["tag"]) for m in hparams["metricInfos"]}
    assert {("", "train/loss"), ("", "eval/loss"), ("eval", "eval/perplexity")} <= metric_names
    groups = board.get("data/plugin/hparams/session_groups", {
        "experimentName": "", "allowedStatuses": ["STATUS_UNKNOWN"], "colParams": [],
        "startIndex": 0, "sliceSize": 10})["sessionGroups"]
    assert len(groups) == 1
    values = {(v["name"]["group"], v["name"]["tag"]): v["value"]
              for v in groups[0]["metricValues"]}
    assert values[("eval", "eval/perplexity")] == pytest.approx(metrics["perplexity"], rel=1e-5)
    call(pretrain.main, f"--config={TINY}", f"--workdir={pretrained}", *QUIET)
    report = capsys.readouterr().out
    assert "step 6 (completed)" in report  # nothing retrained: the run was finished
    assert common.checkpoint_step(pretrained) == 6
    stdout, stderr, code = (*generated.communicate(timeout=300), generated.returncode)
    assert code == 0, stderr[-2000:]
    samples = re.findall(r"--- sample \d\n", stdout)
    assert len(samples) == 2 and "\ndef " in stdout and "\nx = " in stdout


def test_workdir_model_is_the_trained_one(pretrained):
    """Checkpoints hold every weight; evaluate_lm's loss is the hand-computed mean NLL."""
    from tfllm.tokenizers import Tokenizer
    from tfllm.evaluation.lm_metrics import evaluate_lm

    parse(f"--config={TINY}", f"--workdir={pretrained}")
    tokenizer = Tokenizer.load(os.path.join(pretrained, "tokenizer"))
    model = experiment.load_model(pretrained)
    data = experiment.lm_dataset(FLAGS.config, tokenizer, "validation", repeat=False)
    batch = next(iter(data))
    # Hand check of one batch: mean NLL of the restored model's logits.
    logits = model({"token_ids": batch["token_ids"], "padding_mask": batch["padding_mask"]})
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(batch["labels"], logits)
    mask = batch["loss_mask"].numpy()
    one = evaluate_lm(model, data, max_batches=1)
    assert one["loss"] == pytest.approx(float((nll.numpy() * mask).sum() / mask.sum()),
                                        rel=1e-5)
    stored = tf.train.load_checkpoint(os.path.join(pretrained, "checkpoints"))
    for variable in model.variables:
        path = variable.path.split("/", 1)[1]  # without the model's name
        key = "model_weights/" + path.replace("/", ".S") + "/.ATTRIBUTES/VARIABLE_VALUE"
        np.testing.assert_array_equal(stored.get_tensor(key), variable.numpy())


def chat_records(path):
    with open(path, "w") as f:
        for i in range(8):
            f.write(json.dumps({"prompt": PROMPTS[i % 3], "response": f"ok {i}"}) + "\n")


def test_chat_finetune_masks_the_prompt(pretrained, tmp_path, capsys):
    data = str(tmp_path / "chat.jsonl")
    chat_records(data)
    workdir = str(tmp_path / "sft")
    args = [f"--config={TINY}", f"--workdir={workdir}", f"--init_workdir={pretrained}",
            f"--train_file={data}", "--config.training.steps=2", *QUIET]
    parse(*args)
    tokenizer, train, _ = experiment.finetune_datasets(FLAGS.config, workdir, data,
                                                       init_workdir=pretrained)
    batch = {k: v.numpy() for k, v in next(iter(train)).items()}
    for ids, mask, real in zip(batch["token_ids"], batch["loss_mask"],
                               batch["padding_mask"]):
        text = tokenizer.decode(ids[real][1:])  # the row without <bos>
        prompt = next(p for p in PROMPTS if text.startswith(f"User: {p}\nAssistant: ok"))
        prompt_tokens = len(f"User: {prompt}\nAssistant: ")  # byte tokenizer: 1 per char
        assert np.all(mask[:prompt_tokens] == 0) and np.all(mask[prompt_tokens:real.sum()] == 1)
        assert np.all(mask[real.sum():] == 0)
    call(finetune.main, *args)
    assert "step 2 (completed)" in capsys.readouterr().out
    assert common.checkpoint_step(workdir) == 2
    assert json.load(open(os.path.join(workdir, "model.json")))["class"] == "DecoderLM"


def test_a_chat_run_is_evaluated_on_its_test_file(pretrained, tmp_path):
    """configs/chat_sft.py's evaluation reads the run's test file: every response, <eos>
    included (4 + 1 tokens for each of the 8 examples)."""
    data = str(tmp_path / "chat.jsonl")
    chat_records(data)
    workdir = str(tmp_path / "sft")
    call(finetune.main, f"--config={ROOT}/configs/chat_sft.py", f"--workdir={workdir}",
         f"--init_workdir={pretrained}", f"--train_file={data}", f"--eval_file={data}",
         "--config.training.steps=1", "--config.data.sequence_length=32",
         "--config.training.batch_size=4", *QUIET)
    call(evaluate.main, f"--workdir={workdir}")
    with open(os.path.join(workdir, "eval", "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["tokens"] == 8 * (len("ok 0") + 1)
    assert 0.0 < metrics["loss"] < np.log(256) + 1.0


def test_a_packed_multi_turn_chat_run_keeps_its_template(pretrained, tmp_path):
    """Messages records, packed rows and a template of the config's: the run's tokenizer
    holds the template, and evaluation counts every assistant turn and its <eos>."""
    data = tmp_path / "chat.jsonl"
    turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "y"},
             {"role": "user", "content": "b"}, {"role": "assistant", "content": "n"}]
    data.write_text("".join(json.dumps({"messages": turns}) + "\n" for _ in range(8)))
    workdir = str(tmp_path / "sft")
    call(finetune.main, f"--config={ROOT}/configs/chat_sft.py", f"--workdir={workdir}",
         f"--init_workdir={pretrained}", f"--train_file={data}", f"--eval_file={data}",
         "--config.training.steps=1", "--config.data.sequence_length=32",
         "--config.data.pack=True", "--config.tokenizer.chat_template.user=Q{content}:",
         "--config.training.batch_size=2", *QUIET)
    tokenizer = experiment.load_model_and_tokenizer(workdir)[1]
    assert tokenizer.chat_template["user"] == "Q{content}:"
    rows = experiment.chat_dataset(FLAGS.config, tokenizer, str(data), train=False,
                                   drop_remainder=False)
    segments = np.concatenate([b["segment_ids"].numpy() for b in rows])
    assert len(segments) < 8 and segments.max() >= 2  # rows of several conversations
    call(evaluate.main, f"--workdir={workdir}")
    with open(os.path.join(workdir, "eval", "metrics.json")) as f:
        assert json.load(f)["tokens"] == 8 * 4  # "y", "n", each with its <eos>


def test_seq2seq_finetune_on_a_tsv(tmp_path, capsys):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text(PAIRS_TSV)
    workdir = str(tmp_path / "s2s")
    call(finetune.main, f"--config={SEQ2SEQ}", f"--workdir={workdir}",
         f"--train_file={pairs}", f"--eval_file={pairs}", "--config.training.steps=3", *QUIET)
    out = capsys.readouterr().out
    loss = float(re.search(r"eval/loss=([\d.]+)", out).group(1))
    assert 0.0 < loss < np.log(512) + 1.0
    assert common.checkpoint_step(workdir) == 3
    assert json.load(open(os.path.join(workdir, "model.json")))["class"] == \
        "Seq2SeqTransformer"
    _, train, _ = experiment.finetune_datasets(FLAGS.config, workdir, str(pairs), str(pairs))
    shapes = {k: tuple(v.shape) for k, v in train.element_spec.items()}
    assert shapes["encoder_token_ids"] == (4, 32) and shapes["labels"] == (4, 16)


DPO = os.path.join(ROOT, "configs", "dpo_sentiment.py")
CLASSIFIER = os.path.join(ROOT, "configs", "classifier_sentiment.py")


def test_dpo_finetune_from_an_lm_workdir(pretrained, tmp_path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"prompt": p, "chosen": " good", "rejected": " bad"})
                             + "\n" for p in PROMPTS * 2))
    workdir = str(tmp_path / "dpo")
    args = [f"--config={DPO}", f"--workdir={workdir}", f"--train_file={pairs}",
            f"--eval_file={pairs}", "--config.training.steps=2",
            "--config.training.batch_size=2", "--config.data.sequence_length=32", *QUIET]
    with pytest.raises(ValueError, match="needs --init_workdir"):
        call(finetune.main, *args)
    call(finetune.main, *args, f"--init_workdir={pretrained}")
    out = capsys.readouterr().out
    assert "step 2 (completed)" in out
    accuracy = float(re.search(r"eval/pairwise_accuracy=([\d.]+)", out).group(1))
    assert 0.0 <= accuracy <= 1.0 and "eval/reward_margin=" in out
    assert common.checkpoint_step(workdir) == 2
    saved = json.load(open(os.path.join(workdir, "config.json")))
    assert saved["data"]["kind"] == "preference" and saved["data"]["train_file"] == str(pairs)
    # tfllm-evaluate "preference": every pair against the reference; the 6 pairs fill whole
    # batches of 2, so it equals the trainer's last evaluation of the same pairs
    held_out = [f"--config={DPO}", f"--workdir={workdir}", f"--config.data.test_file={pairs}",
                "--config.training.batch_size=2", "--config.data.sequence_length=32", *QUIET]
    call(evaluate.main, *held_out, f"--config.init_from={pretrained}")
    metrics = json.load(open(os.path.join(workdir, "eval", "metrics.json")))
    assert metrics["pairs"] == 6 and metrics["reference_workdir"] == pretrained
    assert metrics["pairwise_accuracy"] == pytest.approx(accuracy, abs=1e-4)
    margin = float(re.search(r"eval/reward_margin=([-\d.e]+)", out).group(1))
    assert metrics["reward_margin"] == pytest.approx(margin, rel=1e-3, abs=1e-6)
    call(evaluate.main, *held_out, f"--config.evaluation.reference_workdir={workdir}")
    itself = json.load(open(os.path.join(workdir, "eval", "metrics.json")))
    assert itself["reward_margin"] == 0.0 and itself["pairwise_accuracy"] == 0.0


def test_classification_finetune_then_evaluate(tmp_path, capsys):
    words = {"negative": "awful bad poor sad", "neutral": "table chair door wall",
             "positive": "great nice good fine"}
    rows = [f"{' '.join(text.split()[i:] + text.split()[:i])}\t{label}"
            for label, text in words.items() for i in range(4)]
    data = tmp_path / "labelled.tsv"
    data.write_text("\n".join(rows) + "\n")
    workdir = str(tmp_path / "cls")
    call(finetune.main, f"--config={CLASSIFIER}", f"--workdir={workdir}",
         f"--train_file={data}", f"--eval_file={data}", "--config.training.steps=3",
         "--config.training.batch_size=4", "--config.tokenizer.kind=byte",
         "--config.tokenizer.vocabulary_size=512", "--config.model.num_layers=1",
         "--config.model.hidden_dim=16", "--config.model.intermediate_dim=32",
         "--config.model.num_heads=2", *QUIET)
    assert "step 3 (completed)" in capsys.readouterr().out
    model = json.load(open(os.path.join(workdir, "model.json")))
    assert model["class"] == "EncoderClassifier" and model["config"]["num_classes"] == 3
    # A new process: Keras names dropout seed generators per process (checkpoint keys).
    evaluated = script("tfllm-evaluate", f"--workdir={workdir}")
    _, stderr = evaluated.communicate(timeout=300)
    assert evaluated.returncode == 0, stderr[-2000:]
    metrics = json.load(open(os.path.join(workdir, "eval", "metrics.json")))
    assert 0.0 <= metrics["accuracy"] <= 1.0
    for key in ("precision_macro", "recall_macro", "f1_macro", "f1_micro"):
        assert 0.0 <= metrics[key] <= 1.0
    assert sum(map(sum, metrics["confusion_matrix"])) == len(rows)
    events = os.listdir(os.path.join(workdir, "tensorboard", "eval"))
    assert any(name.startswith("events.") for name in events)


def test_phf_evaluate_gets_the_reference_model(pretrained, tmp_path, monkeypatch):
    from tfllm.evaluation import phf

    seen = []
    monkeypatch.setattr(phf, "evaluate",
                        lambda config, model, tokenizer, workdir, reference=None:
                        seen.append(reference) or {"validation/loss": 1.0})
    workdir = str(tmp_path / "phf")
    shutil.copytree(pretrained, workdir)
    phf_config = os.path.join(ROOT, "configs", "phf_pep8.py") + ":mle"
    call(evaluate.main, f"--workdir={workdir}", f"--config={phf_config}")
    call(evaluate.main, f"--workdir={workdir}", f"--config={phf_config}",
         f"--config.evaluation.reference_workdir={pretrained}")
    assert seen[0] is None
    expected = experiment.load_model(pretrained)
    for got, want in zip(seen[1].get_weights(), expected.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_decoder_samples_start_after_eos(monkeypatch):
    import tfllm.generation
    from tfllm.tokenizers import Tokenizer

    prompts = []

    def generate(model, batch, *args, **kwargs):
        prompts.extend(batch)
        return [[] for _ in batch]

    monkeypatch.setattr(tfllm.generation, "generate", generate)
    parse(f"--config={TINY}", "--workdir=unused")
    tokenizer = Tokenizer.train(["def f(): pass"], 512, kind="byte")
    experiment.sample_fn(FLAGS.config, tokenizer)(object(), 0)
    assert prompts == [[tokenizer.eos_id] + tokenizer.encode("def ")] * 2


def test_lm_evaluation_data_keeps_every_control_token():
    """One config -> LM data glue (tfllm-pretrain, tfllm-evaluate, the PHF evaluation):
    the control tokens that training drops (drop_token_probability) stay in evaluation
    data."""
    from tfllm.tokenizers import Tokenizer

    parse(f"--config={os.path.join(ROOT, 'configs', 'phf_pep8.py')}:conditional",
          "--workdir=unused", "--config.data.max_files=8",
          "--config.data.drop_token_probability=1.0", "--config.training.batch_size=2")
    tokenizer = Tokenizer.train(["x = 1\n"], 512, kind="byte",
                                control_tokens=("<|good|>", "<|bad|>"))
    batch = next(iter(experiment.lm_dataset(FLAGS.config, tokenizer, "validation",
                                            repeat=False)))
    control = list(tokenizer.control_token_ids.values())
    assert np.isin(batch["token_ids"].numpy(), control).any()


def test_tensorboard_hint_names_the_program_beside_the_interpreter(tmp_path, monkeypatch):
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "bin" / "python"))
    monkeypatch.chdir(tmp_path)
    assert common.tensorboard_command("runs/x") == "tensorboard --logdir runs/x"
    (tmp_path / "venv" / "bin" / "tensorboard").write_text("")
    assert common.tensorboard_command("runs/x") == "venv/bin/tensorboard --logdir runs/x"
    monkeypatch.chdir(tmp_path / "venv")
    assert common.tensorboard_command("x") == "bin/tensorboard --logdir x"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert common.tensorboard_command("x") == (
        f"{tmp_path / 'venv' / 'bin' / 'tensorboard'} --logdir x")


def test_conditional_run_prints_and_logs_control_token_samples(tmp_path, capsys):
    from tensorboard.backend.event_processing import event_accumulator

    workdir = str(tmp_path / "phf")
    call(pretrain.main, f"--config={os.path.join(ROOT, 'configs', 'phf_pep8.py')}:conditional",
         f"--workdir={workdir}", *QUIET, "--config.model.preset=tiny",
         "--config.data.max_files=8", "--config.data.sequence_length=32",
         "--config.tokenizer.vocabulary_size=400", "--config.training.steps=2",
         "--config.training.batch_size=2", "--config.sampling.num_samples=3",
         "--config.sampling.max_new_tokens=16")
    out = capsys.readouterr().out
    # The table: one column per control token; the mean over all 3 samples of each.
    assert re.search(r"^samples +3 +3$", out, re.M)
    means = re.search(r"^pep8 score, mean ± s\.e\. +([\d.]+) ± [\d.]+ +([\d.]+) ± [\d.]+$",
                      out, re.M)
    assert re.search(r"^samples that parse \(ast\.parse\) +\d+% +\d+%$", out, re.M)
    assert re.search(r"^lines that tokenize +\d+% +\d+%$", out, re.M)
    assert re.search(r"^empty samples \(no complete line\) +[0-3] +[0-3]$", out, re.M)
    printed = {control: [float(score) for score in re.findall(
        rf"--- <\|{control}\|> sample \d: pep8 score ([\d.]+)", out)] for control in ("good", "bad")}
    assert [len(scores) for scores in printed.values()] == [2, 2]  # two shown of each
    assert out.rstrip().endswith(common.tensorboard_command(workdir))
    acc = event_accumulator.EventAccumulator(os.path.join(workdir, "tensorboard"),
                                             size_guidance={"tensors": 0})
    acc.Reload()
    for control, mean in zip(printed, means.groups()):
        (event,) = acc.Tensors(f"samples/{control}_mean_score")
        assert event.step == 2
        assert float(tf.make_ndarray(event.tensor_proto)) == pytest.approx(float(mean),
                                                                           abs=1e-4)
        (text,) = acc.Tensors(f"samples/{control}")
        markdown = tf.make_ndarray(text.tensor_proto).item().decode()
        assert re.findall(r"\*\*sample (\d)\*\* · pep8 score", markdown) == ["0", "1", "2"]
        shown = re.findall(r"pep8 score ([\d.]+)", markdown)[:2]
        assert [float(x) for x in shown] == pytest.approx(printed[control], abs=1e-4)


def test_an_error_in_traced_code_keeps_its_informative_line():
    @tf.function
    def step(x):
        if x.shape[0] > 2:
            raise ValueError("token_ids has length 4096, over max_sequence_length 32")
        return x

    with pytest.raises(ValueError) as raised:
        step(tf.zeros([4]))
    assert str(raised.value).startswith("in user code:")
    assert common.one_line(raised.value) == \
        "ValueError: token_ids has length 4096, over max_sequence_length 32"
    assert common.one_line(ValueError("first\nsecond")) == "first"
    assert common.one_line(KeyError()) == "KeyError"
