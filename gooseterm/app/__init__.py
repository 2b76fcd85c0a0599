"""The use cases both faces call: the CLI and the dashboard parse, call one of these, and render.

Each takes the workspace (or its settings) and returns a typed result; none prompts, prints or
imports a face. The write use cases of the promotion life cycle (promote, approve, reject,
override, demote) are the Orchestrator's commands, which re-check every precondition inside
their ledger transaction; `collect` is gooseterm.collect.
"""
