"""init: a repository bootstrapped with a spec.

Takes init's flags or answers to its questions, and the existing pyproject.toml if any;
gives checked `Answers` (answers.py) and the texts to write: the spec, a new pyproject.toml
or the old one with the spec appended (project.py).
"""
