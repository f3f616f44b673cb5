"""tfllm-generate: sample from a trained workdir.

    tfllm-generate --workdir=runs/lm_small --prompt="def " --prompt="class "
    tfllm-generate --workdir=runs/lm_small --prompts_file=prompts.txt --sampler=top_p
    tfllm-generate --workdir=runs/chat --interactive     # chat REPL with history
    tfllm-generate --workdir=runs/gpt2 --prompt="Hello" --num_return_sequences=3

With --num_return_sequences=N > 1 (a top_k or top_p sampler) each prompt gets N
samples, printed as "--- sample <prompt>.<n>".
"""

import sys

from absl import flags

from tfllm import experiment
from tfllm.bin import common

FLAGS = flags.FLAGS
flags.DEFINE_multi_string("prompt", [], "a prompt (repeatable)")
flags.DEFINE_string("prompts_file", None, "a file with one prompt per line")
flags.DEFINE_bool("interactive", False, "chat REPL (User:/Assistant: template, with history)")
flags.DEFINE_enum("sampler", "top_k", ["greedy", "top_k", "top_p", "beam"], "decoding")
flags.DEFINE_integer("max_new_tokens", 128, "tokens generated per prompt")
flags.DEFINE_float("temperature", 0.8, "sampling temperature")
flags.DEFINE_integer("top_k", 40, "k of top_k")
flags.DEFINE_float("top_p", 0.9, "p of top_p")
flags.DEFINE_integer("num_beams", 4, "beams of beam search")
flags.DEFINE_integer("seed", 0, "sampling seed")
flags.DEFINE_integer("num_return_sequences", 1, "samples per prompt")


def complete(model, tokenizer, prompts, seed, ids=None, num_return_sequences=1):
    """Continuations (text after each prompt) of `prompts`, `num_return_sequences` per
    prompt in adjacent rows; a Seq2SeqTransformer's targets. `ids`: a DecoderLM's prompts
    as token ids (each starting with <bos>) instead."""
    from tfllm.data.seq2seq import encode_sources
    from tfllm.generation import generate
    from tfllm.models import Seq2SeqTransformer

    options = {"greedy": {}, "top_k": {"k": FLAGS.top_k, "temperature": FLAGS.temperature},
               "top_p": {"p": FLAGS.top_p, "temperature": FLAGS.temperature},
               "beam": {"num_beams": FLAGS.num_beams}}[FLAGS.sampler]
    seq2seq = isinstance(model, Seq2SeqTransformer)  # the prompt is the encoder input
    if seq2seq:
        ids = encode_sources(tokenizer, prompts, model.max_sequence_length)
    else:
        limit = model.max_sequence_length - FLAGS.max_new_tokens
        if limit < 2:
            raise ValueError(f"--max_new_tokens={FLAGS.max_new_tokens} leaves no room for a "
                             f"prompt in the model's {model.max_sequence_length} positions")
        # Long prompts (a chat history) keep <bos> and their last tokens.
        if ids is None:
            ids = [[tokenizer.bos_id] + tokenizer.encode(p) for p in prompts]
        ids = [row[:1] + row[1:][-(limit - 1):] for row in ids]
    outputs = generate(model, ids, FLAGS.max_new_tokens, sampler=FLAGS.sampler, seed=seed,
                       stop_token_ids=[tokenizer.eos_id], pad_token_id=tokenizer.pad_id,
                       banned_token_ids=list(tokenizer.control_token_ids.values()),
                       num_return_sequences=num_return_sequences, **options)
    rows = [row for row in ids for _ in range(num_return_sequences)]
    return [tokenizer.decode(out if seq2seq else out[len(row):])
            for out, row in zip(outputs, rows)]


def read_turn():
    """One user turn from stdin; piped input (not a terminal) is echoed after the
    "User: " prompt, so the output of `tfllm-generate --interactive < turns.txt` reads
    as the whole conversation."""
    line = input("User: ")
    if not sys.stdin.isatty():
        print(line, flush=True)
    return line


def chat(model, tokenizer):
    """Reads user turns from stdin; the whole conversation, in the chat template of
    training (the tokenizer's), is the prompt of each reply. "/reset" forgets the
    history, "/exit" or "/quit" (or end of input) ends the chat."""
    from tfllm.data.prompts import encode_messages

    messages = []
    for turn, line in enumerate(iter(read_turn, None)):
        if line.strip() in ("/exit", "/quit"):
            return
        if line.strip() == "/reset":
            messages = []
            continue
        messages.append({"role": "user", "content": line})
        ids, _ = encode_messages(tokenizer, messages)
        reply = complete(model, tokenizer, [], FLAGS.seed + turn, ids=[ids])[0].strip()
        print(f"Assistant: {reply}", flush=True)
        messages.append({"role": "assistant", "content": reply})


def main(argv):
    from tfllm.models import Seq2SeqTransformer

    model, tokenizer = experiment.load_model_and_tokenizer(FLAGS.workdir)
    seq2seq = isinstance(model, Seq2SeqTransformer)
    if FLAGS.interactive:
        try:
            chat(model, tokenizer)
        except EOFError:
            print(file=sys.stderr)
        return
    prompts = list(FLAGS.prompt)
    if FLAGS.prompts_file:
        from tfllm import files

        prompts += [line for line in files.read_text(FLAGS.prompts_file).splitlines()
                    if line.strip()]
    if not prompts:
        raise ValueError("no prompts: pass --prompt, --prompts_file or --interactive")
    n = FLAGS.num_return_sequences
    texts = complete(model, tokenizer, prompts, FLAGS.seed, num_return_sequences=n)
    for i, text in enumerate(texts):
        prompt = prompts[i // n]
        name = f"{i // n}.{i % n}" if n > 1 else f"{i}"
        print(f"--- sample {name}\n{text if seq2seq else prompt + text}")


def run():
    common.define_flags(config=None, strategy=False)
    common.run(main)


if __name__ == "__main__":
    run()
