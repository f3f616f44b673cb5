import glob
import os
import sysconfig

import pytest


@pytest.fixture(scope="session")
def code_corpus():
    stdlib = sysconfig.get_paths()["stdlib"]
    files = sorted(glob.glob(os.path.join(stdlib, "*.py")))[:6]
    texts = [open(f, encoding="utf-8").read() for f in files]
    texts.append("Plain prose, with émoji 😀 and\ttabs.\n\n  Trailing spaces   \n")
    return texts
