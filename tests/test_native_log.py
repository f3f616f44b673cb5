"""The stderr filters (the binaries' pipe, `noise_dropped` around a library call) drop
exactly the known native log lines."""

import os
import threading

import pytest

from tfllm import native_log

NORMALIZER = b"normalizer.cc(51) LOG(INFO) precompiled_charsmap is empty. use identity normalization."
ONEDNN = (b"E0000 00:00:1795951513.115048    2449 util.cc:131] oneDNN supports DT_BOOL only on "
          b"platforms with AVX-512. Falling back to the default Eigen-based implementation if "
          b"present.")
OTHER_ERROR = b"E0000 00:00:1795951513.115048    2449 util.cc:131] something real went wrong"


def forwarded(chunks):
    """What _forward writes out for `chunks` written to its pipe one by one (a partial
    line is never flushed for want of input here: the wait is longer than the test)."""
    read_fd, write_fd = os.pipe()
    out_read, out_write = os.pipe()
    reader = threading.Thread(target=native_log._forward, args=(read_fd, out_write, 60.0))
    reader.start()
    for chunk in chunks:
        os.write(write_fd, chunk)
    os.close(write_fd)
    reader.join(timeout=10)
    os.close(out_write)
    with os.fdopen(out_read, "rb") as f:
        return f.read()


def test_noise_lines_are_dropped_and_everything_else_kept_in_order():
    # sentencepiece writes its line in pieces (std::cerr <<), glued to a progress bar
    chunks = [b"\r  0%|   | 0/3", NORMALIZER[:14], NORMALIZER[14:30], NORMALIZER[30:] + b"\n",
              ONEDNN + b"\n", b"\r 33%|#  | 1/3\n", OTHER_ERROR + b"\n",
              b"Traceback (most recent call last):\n", b"tfllm-pretrain: error: no such file"]
    assert forwarded(chunks) == (b"\r  0%|   | 0/3\r 33%|#  | 1/3\n" + OTHER_ERROR + b"\n"
                                 b"Traceback (most recent call last):\n"
                                 b"tfllm-pretrain: error: no such file")


def test_a_partial_progress_bar_is_passed_on_when_nothing_follows():
    read_fd, write_fd = os.pipe()
    out_read, out_write = os.pipe()
    reader = threading.Thread(target=native_log._forward, args=(read_fd, out_write, 0.05),
                              daemon=True)
    reader.start()
    os.write(write_fd, b"\r 50%|##  | 1/2")
    assert os.read(out_read, 100) == b"\r 50%|##  | 1/2"  # before any newline or EOF
    os.close(write_fd)
    reader.join(timeout=10)
    os.close(out_write)
    os.close(out_read)


def test_only_the_known_lines_are_noise():
    assert native_log.without_noise(NORMALIZER) == native_log.without_noise(ONEDNN) == b""
    assert native_log.without_noise(b"\r 9%|" + NORMALIZER) == b"\r 9%|"
    for line in (OTHER_ERROR, b"normalizer.cc(51) LOG(ERROR) something else"):
        assert native_log.without_noise(line) == line + b"\n"


def test_noise_dropped_passes_the_rest_on_in_order(capfd):
    os.write(2, b"before\n")
    with native_log.noise_dropped():
        os.write(2, NORMALIZER + b"\n" + OTHER_ERROR + b"\n" + ONEDNN + b"\npartial")
        assert capfd.readouterr().err == "before\n"  # held until the block ends
    assert capfd.readouterr().err == OTHER_ERROR.decode() + "\npartial"
    with pytest.raises(RuntimeError):
        with native_log.noise_dropped():
            os.write(2, b"said before the error\n")
            raise RuntimeError
    assert capfd.readouterr().err == "said before the error\n"
