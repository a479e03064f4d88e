"""The platforms a spec can target: their PEP 508 markers, uv triples, runners and wheel tags."""

from __future__ import annotations

from dataclasses import dataclass

_SYSTEMS = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}


@dataclass(frozen=True)
class Platform:
    """One operating system and CPU pair that PyTorch publishes wheels for."""

    name: str
    sys_platform: str
    machine: str
    triple: str
    runner: str
    wheel_tag: str

    @property
    def marker(self) -> str:
        """The PEP 508 marker that is true exactly on this platform."""
        return f"sys_platform == '{self.sys_platform}' and platform_machine == '{self.machine}'"

    @property
    def os(self) -> str:
        return self.name.split("-", 1)[0]

    def marker_environment(self, python: str) -> dict[str, str]:
        """The PEP 508 environment of CPython `python` ("3.12") on this platform."""
        return {
            "sys_platform": self.sys_platform,
            "platform_machine": self.machine,
            "platform_system": _SYSTEMS[self.sys_platform],
            "os_name": "nt" if self.sys_platform == "win32" else "posix",
            "python_version": python,
            "python_full_version": f"{python}.0",
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_version": "",
            "implementation_version": f"{python}.0",
            "extra": "",
        }


PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform(
            "linux-x86_64",
            "linux",
            "x86_64",
            "x86_64-unknown-linux-gnu",
            "ubuntu-latest",
            "manylinux_2_28_x86_64",
        ),
        Platform(
            "linux-aarch64",
            "linux",
            "aarch64",
            "aarch64-unknown-linux-gnu",
            "ubuntu-24.04-arm",
            "manylinux_2_28_aarch64",
        ),
        Platform(
            "macos-arm64",
            "darwin",
            "arm64",
            "aarch64-apple-darwin",
            "macos-15",
            "macosx_11_0_arm64",
        ),
        Platform(
            "macos-x86_64",
            "darwin",
            "x86_64",
            "x86_64-apple-darwin",
            "macos-15-intel",
            "macosx_10_9_x86_64",
        ),
        Platform(
            "windows-x86_64",
            "win32",
            "AMD64",
            "x86_64-pc-windows-msvc",
            "windows-latest",
            "win_amd64",
        ),
    )
}
