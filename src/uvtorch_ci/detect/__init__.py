"""detect: the backend this machine should run.

Takes readings of the machine (machine.py: platform, NVIDIA driver, ROCm, Intel GPUs, or the
UVTORCH_* overrides) and the release table; gives a `Detection` (choice.py) and its report,
JSON and spec snippet (report.py).
"""
