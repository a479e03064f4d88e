"""The PyTorch release table: what each torch release publishes, and how it is refreshed.

Takes data/releases.toml (table.py) or, for `releases refresh`, the PyTorch index pages and
PyPI metadata (fetch.py reads them, pages.py and pypi.py parse them, refresh.py builds the
table); gives typed `Release` rows, the questions the planner asks of them, and the views
`uvtorch-ci releases` prints (view.py).
"""
