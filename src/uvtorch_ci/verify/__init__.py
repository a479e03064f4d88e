"""verify: the lock judged against the plan, per target x Python, without a GPU.

Takes a `Plan`, the text of uv.lock and of pyproject.toml; gives `Verdicts` (verdicts.py):
for each target x Python and package the version, index and wheel it gets and what is wrong
with them, and whether the lock is stale (staleness.py). report.py formats them for people
and as JSON.
"""
