"""How the tool names a file to the user: relative to the working directory when inside it.

Only os.path here: the fast `render --check` (fastcheck.py) names files too, and must not
pay for importing pathlib.
"""

import os


def display_path(path: str | os.PathLike[str]) -> str:
    text = os.fspath(path)
    try:
        # the folders resolved, the file itself not: a link is named as the user named it
        head, name = os.path.split(os.path.abspath(text))
        full, cwd = os.path.join(os.path.realpath(head), name), os.path.realpath(os.getcwd())
    except (OSError, ValueError):  # an unreadable cwd, a NUL in the name
        return text
    if full == cwd or full.startswith(cwd.rstrip(os.sep) + os.sep):
        return os.path.relpath(full, cwd)
    return text
