"""The command line (`reconcile run | check | explain | status | serve | …`).

`main` parses the arguments, calls the stages and maps outcomes to exit codes; it is
the only module that prints; `program`, the installed `reconcile` command, calls it.
`text` builds what the commands print for people, as lines, from the typed results
the stages return.
"""

from reconcile.cli.main import main, program

__all__ = ["main", "program"]
