"""The evidence kinds gooseterm can record, in a module that imports nothing: the command line
offers them as choices, and `gooseterm --help` must not load the parsers (pydantic, YAML, XML) to
know their names. adapters/evidence.py maps each kind to its parser."""

EVIDENCE_KINDS = ("junit", "sarif", "coverage", "metrics", "spec", "kubernetes", "mesh", "environment_approvals")
"""The evidence kinds gooseterm can record."""
