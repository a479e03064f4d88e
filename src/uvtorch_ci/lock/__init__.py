"""The lock: uv.lock read, modelled and asked what one environment installs.

Takes the text of uv.lock; gives a `Lock` (reader.py checks and parses it into model.py's
classes) that answers, for a platform, a Python and extras, which packages are installed and
from which wheel (wheel_tags.py ranks the tags as uv does).
"""
