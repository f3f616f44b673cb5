"""TensorBoard served in the test process, read through its HTTP API as the browser does."""

import gzip
import json
import urllib.request


class Board:
    """A TensorBoard server on a free port for `logdir`, with the installed plugins."""

    def __init__(self, logdir):
        from tensorboard import default, program

        board = program.TensorBoard(plugins=default.get_plugins())
        board.configure(argv=[None, "--logdir", str(logdir), "--port", "0",
                              "--load_fast", "false"])
        self.url = board.launch()

    def get(self, route, body=None):
        """The JSON answer of `route` (a POST when `body` is given)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + route, data=data,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as response:
            payload = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                payload = gzip.decompress(payload)
        return json.loads(payload)
