"""uv.lock reading: packages, markers, conflicting extras, wheel tags, and a 300-package lock."""

from __future__ import annotations

import pytest

from uvtorch_ci.errors import EXIT_BAD_INPUT, LockError
from uvtorch_ci.lock import (
    Artifact,
    compatible_tags,
    marker_environment,
    parse_lock,
    parse_marker,
)
from uvtorch_ci.platforms import PLATFORMS

PT = "https://download.pytorch.org/whl"
PYPI = "https://pypi.org/simple"

# What `uv lock` (0.13) writes for the seed spec with torchvision, Python 3.11 and 3.12, as
# rendered by uvtorch-ci against the test mirror (hashes shortened; {pt}/{pypi} are the index
# URLs).
SEED_LOCK = """\
version = 1
revision = 5
requires-python = ">=3.11"
resolution-markers = [
    "platform_machine == 'x86_64' and sys_platform == 'linux'",
    "(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'aarch64' and sys_platform == 'linux')",
    "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or sys_platform != 'darwin' and sys_platform != 'linux'",
]
required-markers = [
    "platform_machine == 'x86_64' and sys_platform == 'linux'",
    "platform_machine == 'arm64' and sys_platform == 'darwin'",
    "platform_machine == 'aarch64' and sys_platform == 'linux'",
]

[[package]]
name = "demo"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "torch", version = "2.5.0", source = { registry = "{pypi}" }, marker = "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or sys_platform != 'darwin' and sys_platform != 'linux'" },
    { name = "torch", version = "2.5.0", source = { registry = "{pt}/cpu" }, marker = "(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'aarch64' and sys_platform == 'linux')" },
    { name = "torch", version = "2.5.0+cu124", source = { registry = "{pt}/cu124" }, marker = "platform_machine == 'x86_64' and sys_platform == 'linux'" },
    { name = "torchvision", version = "0.20.0", source = { registry = "{pypi}" }, marker = "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or sys_platform != 'darwin' and sys_platform != 'linux'" },
    { name = "torchvision", version = "0.20.0", source = { registry = "{pt}/cpu" }, marker = "(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'aarch64' and sys_platform == 'linux')" },
    { name = "torchvision", version = "0.20.0+cu124", source = { registry = "{pt}/cu124" }, marker = "platform_machine == 'x86_64' and sys_platform == 'linux'" },
]

[package.metadata]
requires-dist = [
    { name = "torch", marker = "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or sys_platform != 'darwin' and sys_platform != 'linux'", specifier = "==2.5.0" },
    { name = "torch", marker = "(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'aarch64' and sys_platform == 'linux')", specifier = "==2.5.0", index = "{pt}/cpu" },
    { name = "torch", marker = "platform_machine == 'x86_64' and sys_platform == 'linux'", specifier = "==2.5.0", index = "{pt}/cu124" },
    { name = "torchvision", marker = "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or sys_platform != 'darwin' and sys_platform != 'linux'", specifier = "==0.20.0" },
    { name = "torchvision", marker = "(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'aarch64' and sys_platform == 'linux')", specifier = "==0.20.0", index = "{pt}/cpu" },
    { name = "torchvision", marker = "platform_machine == 'x86_64' and sys_platform == 'linux'", specifier = "==0.20.0", index = "{pt}/cu124" },
]

[[package]]
name = "torch"
version = "2.5.0"
source = { registry = "{pypi}" }
resolution-markers = [
    "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or sys_platform != 'darwin' and sys_platform != 'linux'",
]
wheels = [
    { url = "https://files.pythonhosted.org/packages/torch-2.5.0-cp311-cp311-macosx_11_0_arm64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torch-2.5.0-cp311-cp311-manylinux_2_28_aarch64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torch-2.5.0-cp311-cp311-manylinux_2_28_x86_64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torch-2.5.0-cp311-cp311-win_amd64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torch-2.5.0-cp312-cp312-macosx_11_0_arm64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torch-2.5.0-cp312-cp312-manylinux_2_28_aarch64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torch-2.5.0-cp312-cp312-manylinux_2_28_x86_64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torch-2.5.0-cp312-cp312-win_amd64.whl", hash = "sha256:00" },
]

[[package]]
name = "torch"
version = "2.5.0"
source = { registry = "{pt}/cpu" }
resolution-markers = [
    "(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'aarch64' and sys_platform == 'linux')",
]
wheels = [
    { url = "{pt}/cpu/torch-2.5.0-cp311-cp311-macosx_11_0_arm64.whl", hash = "sha256:00" },
    { url = "{pt}/cpu/torch-2.5.0-cp311-cp311-manylinux_2_28_aarch64.whl", hash = "sha256:00" },
    { url = "{pt}/cpu/torch-2.5.0-cp312-cp312-macosx_11_0_arm64.whl", hash = "sha256:00" },
    { url = "{pt}/cpu/torch-2.5.0-cp312-cp312-manylinux_2_28_aarch64.whl", hash = "sha256:00" },
]

[[package]]
name = "torch"
version = "2.5.0+cu124"
source = { registry = "{pt}/cu124" }
resolution-markers = [
    "platform_machine == 'x86_64' and sys_platform == 'linux'",
]
wheels = [
    { url = "{pt}/cu124/torch-2.5.0%2Bcu124-cp311-cp311-manylinux_2_28_x86_64.whl", hash = "sha256:00" },
    { url = "{pt}/cu124/torch-2.5.0%2Bcu124-cp312-cp312-manylinux_2_28_x86_64.whl", hash = "sha256:00" },
]

[[package]]
name = "torchvision"
version = "0.20.0"
source = { registry = "{pypi}" }
resolution-markers = [
    "platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'x86_64' or (platform_machine == 'aarch64' or platform_machine == 'x86_64') and sys_platform == 'darwin' or platform_machine == 'arm64' and sys_platform == 'linux' or sys_platform != 'darwin' and sys_platform != 'linux'",
]
dependencies = [
    { name = "torch", version = "2.5.0", source = { registry = "{pypi}" } },
]
wheels = [
    { url = "https://files.pythonhosted.org/packages/torchvision-0.20.0-cp311-cp311-macosx_11_0_arm64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torchvision-0.20.0-cp311-cp311-manylinux_2_28_aarch64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torchvision-0.20.0-cp311-cp311-manylinux_2_28_x86_64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torchvision-0.20.0-cp311-cp311-win_amd64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torchvision-0.20.0-cp312-cp312-macosx_11_0_arm64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torchvision-0.20.0-cp312-cp312-manylinux_2_28_aarch64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torchvision-0.20.0-cp312-cp312-manylinux_2_28_x86_64.whl", hash = "sha256:00" },
    { url = "https://files.pythonhosted.org/packages/torchvision-0.20.0-cp312-cp312-win_amd64.whl", hash = "sha256:00" },
]

[[package]]
name = "torchvision"
version = "0.20.0"
source = { registry = "{pt}/cpu" }
resolution-markers = [
    "(platform_machine == 'arm64' and sys_platform == 'darwin') or (platform_machine == 'aarch64' and sys_platform == 'linux')",
]
dependencies = [
    { name = "torch", version = "2.5.0", source = { registry = "{pt}/cpu" } },
]
wheels = [
    { url = "{pt}/cpu/torchvision-0.20.0-cp311-cp311-macosx_11_0_arm64.whl", hash = "sha256:00" },
    { url = "{pt}/cpu/torchvision-0.20.0-cp311-cp311-manylinux_2_28_aarch64.whl", hash = "sha256:00" },
    { url = "{pt}/cpu/torchvision-0.20.0-cp312-cp312-macosx_11_0_arm64.whl", hash = "sha256:00" },
    { url = "{pt}/cpu/torchvision-0.20.0-cp312-cp312-manylinux_2_28_aarch64.whl", hash = "sha256:00" },
]

[[package]]
name = "torchvision"
version = "0.20.0+cu124"
source = { registry = "{pt}/cu124" }
resolution-markers = [
    "platform_machine == 'x86_64' and sys_platform == 'linux'",
]
dependencies = [
    { name = "torch", version = "2.5.0+cu124", source = { registry = "{pt}/cu124" } },
]
wheels = [
    { url = "{pt}/cu124/torchvision-0.20.0%2Bcu124-cp311-cp311-manylinux_2_28_x86_64.whl", hash = "sha256:00" },
    { url = "{pt}/cu124/torchvision-0.20.0%2Bcu124-cp312-cp312-manylinux_2_28_x86_64.whl", hash = "sha256:00" },
]
"""


def lock_text(template: str = SEED_LOCK) -> str:
    return template.replace("{pt}", PT).replace("{pypi}", PYPI)
