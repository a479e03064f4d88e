"""The command layer: the only place that touches the disk and the terminal.

Takes the command line, the environment and the project's files; gives exit codes, what the
terminal shows, and the files written (all or nothing).

main.py is the click command line and the one place errors become exit codes; entry.py
answers --version and an up-to-date `render --check` (fastcheck.py) before click loads. One
module per command (render, verify and explain, init, releases) reads the project
(workspace.py), calls the pure stages, and writes through files.py, the only writer. uv.py
finds uv. Nothing below this package imports it.
"""
