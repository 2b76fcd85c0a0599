"""Reusable widgets: each carries its own DEFAULT_CSS; screens are styled by gooseterm.tcss."""
