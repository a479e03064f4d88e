"""The spec: `[tool.uvtorch]` or a uvtorch.toml, read and validated.

Takes the spec table as parsed TOML data; gives a frozen `Spec` (parse.py) whose targets
(targets.py) are checked one by one, or a SpecError naming the file and key (reader.py).
Knows the release table only for names (companions, backend spelling), never for versions.
"""
