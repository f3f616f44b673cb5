"""Drops known harmless lines that TensorFlow's and tensorflow-text's C++ code log to stderr.

Some native libraries log without heeding TF_CPP_MIN_LOG_LEVEL or Python's logging:
tensorflow-text's copy of sentencepiece writes `normalizer.cc(51) LOG(INFO)
precompiled_charsmap is empty` for every model without a normalization table (ours use
identity normalization), oneDNN writes an ERROR line about DT_BOOL (or DT_INT32, DT_INT64)
on the first such op it considers, and the CUDA probe an ERROR line "failed call to cuInit" on
machines without a GPU when the runtime starts. The binaries route file descriptor 2
through a pipe and drop exactly those lines (`filter_stderr`); everything else (progress
bars, tracebacks, other native errors) passes through unchanged. Library code that makes
such a call itself (loading a sentencepiece model) wraps it in `noise_dropped`.
"""

import atexit
import contextlib
import os
import re
import select
import sys
import tempfile
import threading

NOISE = (
    re.compile(rb"normalizer\.cc\(\d+\) LOG\(INFO\) precompiled_charsmap is empty"),
    re.compile(rb"E\d{4} [\d:. ]+\d+ util\.cc:\d+\] oneDNN supports DT_[A-Z0-9]+ only on "
               rb"platforms with AVX-512"),
    re.compile(rb"E\d{4} [\d:. ]+\d+ cuda_platform\.cc:\d+\] failed call to cuInit"),
)


def without_noise(line):
    """A complete stderr line (bytes, without its newline) as it is passed on: unchanged
    with its newline, or cut before a NOISE line that follows a progress bar on it."""
    for pattern in NOISE:
        found = pattern.search(line)
        if found:
            return line[:found.start()]
    return line + b"\n"


def without_noise_lines(data):
    """`data` (bytes) with its NOISE lines dropped (`without_noise` of each line)."""
    *lines, last = data.split(b"\n")
    out = b"".join(without_noise(line) for line in lines)
    return out + without_noise(last).removesuffix(b"\n") if last else out


@contextlib.contextmanager
def noise_dropped():
    """File descriptor 2 goes to a temporary file during the block, then on to where it
    went before without its NOISE lines (the rest only delayed)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            out = without_noise_lines(held.read())
            if out:
                os.write(2, out)


def _forward(read_fd, out_fd, wait=0.05):
    """Copies read_fd to out_fd line by line without NOISE; a partial line (a progress
    bar, or a log line written in pieces) goes on once nothing more came for `wait` s."""
    pending = b""
    while True:
        if pending and not select.select([read_fd], [], [], wait)[0]:
            os.write(out_fd, pending)
            pending = b""
            continue
        chunk = os.read(read_fd, 1 << 16)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        out = b"".join(without_noise(line) for line in lines)
        if out:
            os.write(out_fd, out)
    if pending:
        os.write(out_fd, without_noise_lines(pending))
    os.close(read_fd)


def filter_stderr():
    """Points file descriptor 2 at a pipe whose reader drops NOISE lines; undone at exit."""
    original = os.dup(2)
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    reader = threading.Thread(target=_forward, args=(read_fd, original), daemon=True)
    reader.start()

    def restore():
        os.dup2(original, 2)  # closes the pipe's last writer here: the reader ends
        reader.join(timeout=5)

    atexit.register(restore)
