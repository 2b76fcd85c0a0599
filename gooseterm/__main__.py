"""`python -m gooseterm`: the same command as `gooseterm`."""

from gooseterm.cli import main

# Guarded so that importing this module (the layering and contract checks do) runs nothing.
if __name__ == "__main__":
    main()
