"""The pyproject merge engine: a plan's entries fitted into the user's pyproject.toml.

Takes the old pyproject.toml text and the rendered blocks (blocks.py renders them from the
plan); gives the new text and notes on what was taken over (merge.py). The passes: shapes.py
refuses values of the wrong shape, takeover.py decides the fate of the user's PyTorch
indexes, values.py edits values in place with tomlkit, lines.py adds and cuts tables on lines
(tomltext.py finds them). data.py reads pyproject data with tomllib for those that only read.
Never imports the lock or verify.
"""
