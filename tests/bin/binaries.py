"""Helpers of the binaries' tests: the console scripts, in-process calls, configs."""

import os
import subprocess
import sys

from absl import flags

from tfllm.bin import common

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
TINY = os.path.join(ROOT, "configs", "lm_tiny.py")
SEQ2SEQ = os.path.join(ROOT, "configs", "seq2seq_small.py")
FLAGS = flags.FLAGS
# no progress bar and no end-of-run samples (tests that read samples ask for them)
QUIET = ["--config.training.progress=False", "--config.training.num_samples=0"]
PROMPTS = ["hi", "add 2", "x"]  # every row fits in lm_tiny's 32 tokens
PAIRS_TSV = ("cat\tchat\ndog\tchien\nhouse\tmaison\nred\trouge\nblue\tbleu\n"
             "green\tvert\nwater\teau\nbread\tpain\n")  # source<TAB>target, 8 pairs

common.define_flags(config="optional")


def parse(*args):
    """Parses `args` into the global flags (config_flags reads overrides from sys.argv)."""
    sys.argv = ["tfllm", *args]
    for name in [name for name in FLAGS if name.startswith("config.")]:
        delattr(FLAGS, name)  # override flags of the previous parse
    FLAGS.unparse_flags()
    FLAGS(sys.argv)


def call(main, *args):
    """Runs a binary's main in this process."""
    parse(*args)
    main([])


def script(name, *args):
    return subprocess.Popen([os.path.join(BIN, name), *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
