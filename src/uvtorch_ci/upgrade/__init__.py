"""upgrade: moving a spec to another torch release.

Takes a project's spec, the release table and the release to move to; gives the `Upgrade`
plan (moves.py): per target the backend it moves to, the driver minimum that implies and the
GPU generations it drops, the companions' versions and the Python axis. rewrite.py writes the
new values into the spec's text (tomlkit, nothing else changed); report.py prints the plan.
"""
