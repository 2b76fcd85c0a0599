"""`python -m gooseterm`: the same command as `gooseterm`."""

from gooseterm.cli import main

if __name__ == "__main__":  # importing the module (the layering and contract checks do) runs nothing
    main()
