"""`python -m gooseterm`: the same command as `gooseterm`."""

from gooseterm.cli import main

if __name__ == "__main__":  # importing the module (the layering test does) must not run the command
    main()
