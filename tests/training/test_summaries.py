"""Samples in TensorBoard's text tab: rendered by TensorBoard's own Markdown pipeline, each
text comes back verbatim."""

import html
import re

import pytest
from tensorboard import plugin_util

from tfllm.training.summaries import code_block, samples_markdown

TEXTS = [
    "def __add__(self, _r, *args):\n    return _r_ | *args  # `x` <b>not bold</b> & \\n",
    "a ``` fence inside\n```\n  two spaces, then ~~~ and ````",
    "",
    "tab\tstop",
]


def rendered_code(markdown):
    """The texts of the code blocks of `markdown` as TensorBoard's text tab shows them."""
    page = plugin_util.markdown_to_safe_html(markdown)
    return [html.unescape(body) for body in
            re.findall(r"<pre><code>(.*?)</code></pre>", page, re.S)]


@pytest.mark.parametrize("text", TEXTS)
def test_code_block_is_shown_verbatim(text):
    (shown,) = rendered_code(code_block(text))
    assert shown.rstrip("\n") == text.expandtabs(4)  # Markdown shows tabs as spaces


def test_samples_keep_their_order_numbers_and_scores():
    markdown = samples_markdown(TEXTS, [0.5, 0.25, 1.0, 2.0], "pep8 score")
    assert [s.rstrip("\n") for s in rendered_code(markdown)] == [t.expandtabs(4) for t in TEXTS]
    page = plugin_util.markdown_to_safe_html(markdown)
    assert re.findall(r"<strong>sample (\d)</strong> · pep8 score ([\d.]+)", page) == [
        ("0", "0.5"), ("1", "0.25"), ("2", "1"), ("3", "2")]
    assert "<strong>" not in "".join(rendered_code(markdown))
    assert "score" not in samples_markdown(["x"])
