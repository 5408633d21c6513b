"""``python -m baton``: the same command line as ``baton``."""

from baton.cli.main import app

app(prog_name="baton")
