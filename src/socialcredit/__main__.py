"""``python -m socialcredit``: the same as the ``socialcredit`` command."""

from socialcredit.cli import main

main()
