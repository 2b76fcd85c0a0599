"""Storage drivers behind one seam (interface.py); SQLite (sqlite.py) is the first."""

from .interface import Head, Node, Reader, Row, Storage, WriteTxn

__all__ = ["Head", "Node", "Reader", "Row", "Storage", "WriteTxn"]
