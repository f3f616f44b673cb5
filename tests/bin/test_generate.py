"""tfllm-generate: the --interactive chat REPL (template, history, /reset, /exit) and
how long prompts are cut to the model's positions."""

import io

import pytest
from absl import flags
from absl.testing import flagsaver

import tfllm.generation
from tfllm.bin import generate as generate_bin
from tfllm.models import DecoderLM
from tfllm.tokenizers import Tokenizer

FLAGS = flags.FLAGS


@pytest.fixture(autouse=True)
def parsed_flags():
    if not FLAGS.is_parsed():
        FLAGS.mark_as_parsed()
    with flagsaver.flagsaver(sampler="greedy", max_new_tokens=6, seed=0):
        yield


@pytest.fixture(scope="module")
def byte_tokenizer():
    return Tokenizer.train([], None, kind="byte")


def test_chat_repl_keeps_the_history_and_resets(monkeypatch, capsys, byte_tokenizer):
    calls = []

    def complete(model, tokenizer, prompts, seed, ids):
        calls.append((tokenizer.decode(ids[0], skip_special_tokens=False), seed))
        return [f" reply{len(calls) - 1} \n"]  # the REPL strips the reply

    stdin = io.StringIO("a\nb\n/reset\nc\n/exit\nnever read\n")  # piped: not a terminal
    monkeypatch.setattr(generate_bin, "complete", complete)
    monkeypatch.setattr("sys.stdin", stdin)
    generate_bin.chat(None, byte_tokenizer)
    # The prompt is the conversation in the training template: <eos> ends each reply.
    assert calls == [("<bos>User: a\nAssistant: ", 0),
                     ("<bos>User: a\nAssistant: reply0<eos>User: b\nAssistant: ", 1),
                     ("<bos>User: c\nAssistant: ", 3)]  # after /reset (turn 2): no history
    # Piped turns are echoed, so the output is the transcript.
    assert capsys.readouterr().out == ("User: a\nAssistant: reply0\nUser: b\nAssistant: reply1\n"
                                       "User: /reset\nUser: c\nAssistant: reply2\n"
                                       "User: /exit\n")
    assert stdin.readline() == "never read\n"  # /exit stopped reading


def test_chat_repl_uses_the_tokenizers_chat_template(monkeypatch):
    tokenizer = Tokenizer.train([], None, kind="byte")
    tokenizer.chat_template = {"system": "{content}", "user": "Q: {content} A:",
                               "assistant": " {content}\n"}
    calls = []
    monkeypatch.setattr(generate_bin, "complete", lambda model, tok, prompts, seed, ids:
                        calls.append(tok.decode(ids[0], skip_special_tokens=False)) or ["x"])
    monkeypatch.setattr("sys.stdin", io.StringIO("a\nb\n"))
    with pytest.raises(EOFError):
        generate_bin.chat(None, tokenizer)
    assert calls == ["<bos>Q: a A:", "<bos>Q: a A: x\n<eos>Q: b A:"]


def test_chat_repl_does_not_echo_a_terminal(monkeypatch, capsys, byte_tokenizer):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(generate_bin, "complete", lambda *args, **kwargs: ["hello"])
    monkeypatch.setattr("sys.stdin", Terminal("hi\n"))
    with pytest.raises(EOFError):  # the end of input ends the chat (main catches it)
        generate_bin.chat(None, byte_tokenizer)
    assert capsys.readouterr().out == "User: Assistant: hello\nUser: "  # no echo of "hi"


def test_long_prompt_keeps_bos_and_its_last_tokens(monkeypatch, byte_tokenizer):
    tokenizer = byte_tokenizer
    model = DecoderLM(tokenizer.vocabulary_size, 1, 2, 16, 32, max_sequence_length=16)
    seen = []

    def generate(model, ids, max_new_tokens, **options):
        seen.append(ids)
        return [row + tokenizer.encode("ok") for row in ids]

    monkeypatch.setattr(tfllm.generation, "generate", generate)
    history = "User: hello there\nAssistant: "
    out = generate_bin.complete(model, tokenizer, [history, "hi"], seed=0)
    # 16 positions - 6 new tokens = 10 for the prompt: <bos> + its last 9 bytes.
    assert seen[0] == [[tokenizer.bos_id] + tokenizer.encode(history[-9:]),
                       [tokenizer.bos_id] + tokenizer.encode("hi")]
    assert out == ["ok", "ok"]  # the continuation only
    generate_bin.complete(model, tokenizer, [], seed=0,
                          ids=[[tokenizer.bos_id] + tokenizer.encode(history)])
    assert seen[1] == seen[0][:1]  # token-id prompts are cut the same way
    with flagsaver.flagsaver(max_new_tokens=15):
        with pytest.raises(ValueError, match="--max_new_tokens=15 leaves no room for a "
                                             "prompt in the model's 16 positions"):
            generate_bin.complete(model, tokenizer, ["hi"], seed=0)
