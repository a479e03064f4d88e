"""The plan: spec + release table -> everything there is to render, still as values.

Takes a parsed `Spec` (or spec data) and the release table; gives a `Plan` (planner.py): the
release chosen, the torch-family requirements and their markers, one index per backend, the
sources, the backend extras or groups and their conflicts, each target's build and the CI
jobs. Nothing here is text yet.
"""
