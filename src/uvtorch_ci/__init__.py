"""uvtorch-ci: one spec renders per-platform PyTorch builds for uv and the CI that proves them."""

__version__ = "0.1.0"
