"""The command line (`reconcile run | check | explain | status | serve | …`).

`main` parses the arguments and calls the stages; what the commands print for people
is built in `reconcile.cli.main` from the typed results the stages return.
"""

from reconcile.cli.main import main

__all__ = ["main"]
