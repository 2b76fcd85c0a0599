"""`python -m gooseterm`: the same command as `gooseterm`."""

from gooseterm.cli import main

main()
