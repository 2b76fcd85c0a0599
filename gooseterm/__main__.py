"""`python -m gooseterm`: the same command as `gooseterm`."""

from gooseterm.cli import main

if __name__ == "__main__":
    main()
