"""Smoke check of an installed PyTorch build: is it the build, and the device, CI asked for?

Standalone on purpose: it needs only the standard library and torch, so a CI job runs it with
the project's own interpreter (`uv run --no-sync python smoke.py --expect cu124`) and the
`uvtorch-ci smoke` command calls `main`. Build checks always run (torch.version.cuda/hip, the
local tag, the companions); device checks run only with --gpu, because hosted runners have no
GPU and hosted macOS runners report MPS available while it does not work
(actions/runner-images#9918). With --gpu and --expect cpu the device is the CPU itself.
Exit codes: 0 every check passed, 1 a check failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

if TYPE_CHECKING:
    from collections.abc import Callable

OK, FAIL, SKIP = "ok", "fail", "skip"
COMPANIONS = ("torchvision", "torchaudio")
# The packages built against torch that the PyTorch indexes publish per backend: (name, module).
EXTENSIONS = (
    ("xformers", "xformers"),
    ("torchao", "torchao"),
    ("torchcodec", "torchcodec"),
    ("fbgemm-gpu", "fbgemm_gpu"),
)
_BACKEND = re.compile(r"(cpu|mps|xpu|cu(\d{3})|rocm(\d+(?:\.\d+)+))")
_PLATFORM = re.compile(r"(linux|macos|windows)-(x86_64|aarch64|arm64)")
# GITHUB_OUTPUT takes `name=value` lines: a value is written only when it cannot break out.
_SAFE_OUTPUT = re.compile(r"[0-9A-Za-z.+_-]*")
# an entry of torch.cuda.get_arch_list(): sm_86, sm_120, compute_120, sm_90a (arch-specific)
_ARCH = re.compile(r"(sm|compute)_(\d{2,3})([af]?)")
# set for the interpreter --python names, which then runs the check itself
CHOSEN_ENV = "UVTORCH_SMOKE_PYTHON"


class Backend(NamedTuple):
    """An expected backend: `name` as given (cu124), `kind`, and the toolkit version it implies."""

    name: str
    kind: str  # cuda | rocm | cpu | xpu | mps
    version: tuple[int, ...]  # (12, 4) for cu124, (6, 2) for rocm6.2, () otherwise

    @property
    def device(self) -> str:
        """The torch device type a working accelerator of this backend shows up as."""
        return {"cuda": "cuda", "rocm": "cuda", "xpu": "xpu", "mps": "mps"}.get(self.kind, "cpu")

    @property
    def label(self) -> str:
        dotted = ".".join(map(str, self.version))
        return {"cuda": f"CUDA {dotted}", "rocm": f"ROCm {dotted}"}.get(self.kind, self.kind)


class Check(NamedTuple):
    """One line of the report: what was checked, ok / fail / skip, and what was found."""

    name: str
    status: str  # ok | fail | skip
    detail: str


class Report(NamedTuple):
    """Every check of one run, and the facts the step outputs and the JSON report carry."""

    expect: Backend
    gpu: bool
    facts: dict[str, str | None]  # torch_version, local_tag, cuda, hip
    device: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.status != FAIL for check in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if check.status == FAIL]


def parse_backend(text: str) -> Backend:
    """`cu124` -> CUDA 12.4, `rocm6.2` -> ROCm 6.2, `cpu`/`xpu`/`mps`; ValueError otherwise."""
    match = _BACKEND.fullmatch(text)
    if match is None:
        raise ValueError(
            f"unknown backend {text!r}: expected cpu, cuXYZ (cu124), rocmX.Y, xpu or mps"
        )
    if match.group(2):
        digits = match.group(2)  # the last digit is the minor version: cu118 -> 11.8, cu130 -> 13.0
        return Backend(text, "cuda", (int(digits[:-1]), int(digits[-1])))
    if match.group(3):
        return Backend(text, "rocm", tuple(int(part) for part in match.group(3).split(".")))
    return Backend(text, text, ())


def _major_minor(version: str) -> tuple[int, ...]:
    """(12, 4) from "12.4"; (6, 2) from HIP's "6.2.41133-dd7f95766" (its third field is a build)."""
    parts = re.findall(r"\d+", version)[:2]
    return tuple(int(part) for part in parts)


def _split_local(version: str) -> tuple[str, str | None]:
    public, _, local = version.partition("+")
    return public, local or None


def _release(version: str) -> tuple[int, ...] | str:
    """(2, 5) for "2.5.0" and "2.5" alike; the text itself when it is not purely numeric."""
    if not re.fullmatch(r"\d+(\.\d+)*", version):
        return version
    parts = [int(part) for part in version.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _same_version(found: str, wanted: str) -> bool:
    """Compare versions without their local tags: 2.5.0+cu124 is --torch-version 2.5.0 (or 2.5)."""
    return _release(_split_local(found)[0]) == _release(_split_local(wanted)[0])


def _toolkit(value: object) -> tuple[int, ...] | None:
    """(12, 4) from torch's "12.4" or torchvision's CUDA_VERSION 12040; None for no CUDA."""
    if value is None or value == "":
        return None
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        number = int(value)  # CUDA_VERSION = major * 1000 + minor * 10
        return (number // 1000, number % 1000 // 10) if number > 0 else None
    return _major_minor(str(value))


def _cuda_label(value: object) -> str:
    toolkit = _toolkit(value)
    return "CUDA " + ".".join(map(str, toolkit)) if toolkit else "no CUDA"


def _describe_build(cuda: str | None, hip: str | None, xpu: str | None) -> str:
    if hip:
        return f"a ROCm build (torch.version.hip={hip!r})"
    if cuda:
        return f"a CUDA {cuda} build (torch.version.cuda={cuda!r})"
    if xpu:
        return f"an XPU build (torch.version.xpu={xpu!r})"
    return "a CPU-only build (torch.version.cuda and torch.version.hip are None)"


def _check_platform(name: str) -> Check:
    import platform

    system, arch = name.split("-", 1)
    found_system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform, "")
    machine = platform.machine().lower()
    family = {"amd64": "x86_64", "x86_64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
    found = f"{found_system or sys.platform}-{machine}"
    if found_system == system and family.get(machine) == family[arch]:
        return Check("platform", OK, f"{name} (sys.platform={sys.platform!r}, machine={machine!r})")
    return Check("platform", FAIL, f"expected {name}, this interpreter runs on {found}")


def _check_build(expect: Backend, torch: Any, cuda: str | None, hip: str | None) -> Check:
    has_xpu_attr = hasattr(torch.version, "xpu")
    xpu = getattr(torch.version, "xpu", None)
    found = _describe_build(cuda, hip, xpu)
    if expect.kind == "cuda":
        if hip or not cuda:
            return Check("build", FAIL, f"expected a {expect.label} build, found {found}")
        if _major_minor(cuda) != expect.version:
            return Check("build", FAIL, f"expected a {expect.label} build, found {found}")
        return Check("build", OK, f"{expect.label} build (torch.version.cuda={cuda!r})")
    if expect.kind == "rocm":
        if not hip:
            return Check("build", FAIL, f"expected a {expect.label} build, found {found}")
        if _major_minor(hip) != expect.version[:2]:
            return Check("build", FAIL, f"expected a {expect.label} build, found {found}")
        return Check("build", OK, f"{expect.label} build (torch.version.hip={hip!r})")
    if expect.kind == "cpu":
        if cuda or hip or xpu:
            return Check("build", FAIL, f"expected a CPU build, found {found}")
        return Check("build", OK, "CPU build (no CUDA, no HIP)")
    if expect.kind == "xpu":
        if cuda or hip:
            return Check("build", FAIL, f"expected an XPU build, found {found}")
        if has_xpu_attr and not xpu:
            return Check("build", FAIL, "expected an XPU build, found torch.version.xpu=None")
        if not has_xpu_attr and not hasattr(torch, "xpu"):
            return Check("build", FAIL, "expected an XPU build, this torch has no torch.xpu")
        return Check("build", OK, f"XPU build (torch.version.xpu={xpu!r})")
    # mps: the macOS wheels; MPS is compiled in but availability is a runtime question.
    if sys.platform != "darwin":
        return Check(
            "build", FAIL, f"expected an MPS build, which needs macOS; this is {sys.platform}"
        )
    if cuda or hip:
        return Check("build", FAIL, f"expected an MPS build, found {found}")
    if not torch.backends.mps.is_built():
        return Check("build", FAIL, "expected an MPS build, torch.backends.mps.is_built() is False")
    return Check("build", OK, "MPS build (torch.backends.mps.is_built() is True)")


def _check_local_tag(expect: Backend, local: str | None) -> Check:
    """The backend's own tag or none is right (the PyTorch indexes tag irregularly: aarch64
    torch is +cpu on the cpu index, aarch64 torchvision untagged on CUDA indexes); another
    backend's tag, or one naming no backend, is not. macOS (MPS) wheels are never tagged."""
    if local is None:
        return Check("local tag", OK, "untagged (the index does not always tag): the build decides")
    if expect.kind != "mps" and (local == expect.name or local.startswith(expect.name + ".")):
        return Check("local tag", OK, f"+{local}")
    wanted = "no tag (macOS wheels are untagged)"
    if expect.kind != "mps":
        wanted = f"+{expect.name} or none"
    return Check(
        "local tag", FAIL, f"+{local} does not match --expect {expect.name}: wanted {wanted}"
    )


def _check_companion(
    name: str,
    torch_local: str | None,
    torch_cuda: str | None,
    torch_hip: str | None,
    module_name: str | None = None,
    torch_version: str = "",
) -> Check:
    """A companion (or a package built against torch) must match torch's build: the same local
    tag, torchvision the same CUDA, and xformers the torch and CUDA its build metadata names.

    torchvision's version.py sets `cuda` (CUDA_VERSION, e.g. 12040) only when its CUDA ops
    load, so a missing attribute next to a CUDA torch means a CPU (often PyPI) torchvision.
    ROCm builds are judged by their tags: torchvision reports no HIP version.
    """
    import importlib
    import importlib.util

    module_name = module_name or name
    if importlib.util.find_spec(module_name) is None:
        return Check(name, SKIP, "not installed")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a companion built for another torch fails in many ways
        return Check(name, FAIL, f"import failed: {type(exc).__name__}: {exc}")
    version = str(getattr(module, "__version__", "?"))
    local = _split_local(version)[1]
    problems = []
    if local and torch_local and local != torch_local:
        problems.append(f"local tag +{local} differs from torch's +{torch_local}")
    version_module = getattr(module, "version", None)
    has_cuda = version_module is not None and hasattr(version_module, "cuda")
    if not torch_hip and (has_cuda or name == "torchvision"):
        cuda = getattr(version_module, "cuda", None)
        if _toolkit(cuda) != _toolkit(torch_cuda):
            theirs, ours = _cuda_label(cuda), _cuda_label(torch_cuda)
            problems.append(f"built for {theirs} ({name}.version.cuda), torch for {ours}")
    built = ""
    if module_name == "xformers":
        built, found = _xformers_build(module, torch_version, torch_cuda, torch_hip)
        problems += found
    if problems:
        return Check(name, FAIL, f"{version}{built}: " + "; ".join(problems))
    return Check(name, OK, f"{version}{built} matches torch's build")


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken parent package, a module without a spec
        return True  # imported, it fails with the reason


def _xformers_metadata(module: Any) -> dict[str, Any] | None:
    """xformers' build metadata (its cpp_lib.json: the torch, CUDA and HIP it was built with),
    as xformers._cpp_lib loaded it, or read from the file when the extension did not load."""
    import json

    library = getattr(module, "_cpp_lib", None)
    info = getattr(library, "_build_metadata", None)
    failed = getattr(library, "_cpp_library_load_exception", None)
    if info is None and failed is not None:
        info = getattr(failed, "build_info", None)
    metadata = getattr(info, "metadata", None)
    if isinstance(metadata, dict):
        return metadata
    path = os.path.join(os.path.dirname(getattr(module, "__file__", "") or ""), "cpp_lib.json")
    try:
        with open(path, encoding="utf-8") as handle:
            loaded = json.load(handle)
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _xformers_build(
    module: Any, torch_version: str, torch_cuda: str | None, torch_hip: str | None
) -> tuple[str, list[str]]:
    """(" built for torch 2.9.1+cu128 (CUDA 12.8)", problems): what xformers was built
    against, and where that differs from the torch installed.

    The CUDA of the build is the local tag of the torch it names (cu126): its `cuda` number
    is the nvcc that compiled it (1208 for the cu126 builds too), and says only the major.
    Before the stable ABI (torch 2.10) a build loads only into the torch release it names."""
    metadata = _xformers_metadata(module)
    library = getattr(module, "_cpp_lib", None)
    failed = getattr(library, "_cpp_library_load_exception", None)
    problems = []
    if failed is not None:
        problems.append(f"its C++/CUDA extensions do not load: {failed}".splitlines()[0])
    if metadata is None:
        return "", problems or ["no build metadata (xformers/cpp_lib.json): not a release build"]
    versions = metadata.get("version")
    found: dict[str, Any] = versions if isinstance(versions, dict) else {}
    built_torch = str(found.get("torch") or "?")
    public, tag = _split_local(built_torch)
    nvcc = found.get("cuda")
    hip = found.get("hip")
    cuda: tuple[int, ...] | None = None
    tagged = _BACKEND.fullmatch(tag or "")
    if tagged and tagged.group(2):
        cuda = parse_backend(tag or "").version
    elif isinstance(nvcc, int) and nvcc > 0:
        cuda = (nvcc // 100, nvcc % 100)  # xformers writes 1208 for CUDA 12.8
    label = f"CUDA {'.'.join(map(str, cuda))}" if cuda else (f"HIP {hip}" if hip else "no CUDA")
    built = f" built for torch {built_torch} ({label})"
    if torch_hip:
        if not hip or _major_minor(str(hip)) != _major_minor(torch_hip):
            problems.append(f"torch is built for HIP {torch_hip}, xformers for {label}")
    elif torch_cuda:
        if cuda is None or cuda[:2] != _major_minor(torch_cuda):
            problems.append(f"torch is built for {_cuda_label(torch_cuda)}, xformers for {label}")
    elif cuda is not None or hip:
        problems.append(f"torch has no CUDA, xformers is built for {label}")
    release = _release(public)
    stable = not isinstance(release, tuple) or release >= (2, 10)
    if not stable and torch_version and not _same_version(public, torch_version):
        problems.append(
            f"a build for torch {public} loads only into that torch, not {torch_version}"
        )
    return built, problems


def _is_available(expect: Backend, torch: Any) -> bool:
    if expect.kind in ("cuda", "rocm"):
        return bool(torch.cuda.is_available())  # ROCm builds answer through torch.cuda too
    if expect.kind == "xpu":
        return hasattr(torch, "xpu") and bool(torch.xpu.is_available())
    if expect.kind == "mps":
        return bool(torch.backends.mps.is_available())
    return True


def _close(got: list[list[float]], want: list[list[float]]) -> bool:
    if [len(row) for row in got] != [len(row) for row in want]:
        return False
    # The shapes are equal (checked above); zip(strict=True) would need Python 3.10.
    pairs = (pair for g, w in zip(got, want) for pair in zip(g, w))  # noqa: B905
    return all(abs(x - y) < 1e-3 for x, y in pairs)


def _check_compute(torch: Any, device: str) -> Check:
    """A 2x3 @ 3x2 matmul of small integers (exact in float32) on the device and on the CPU."""
    rows = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    cols = [[7.0, 8.0], [9.0, 10.0], [11.0, 12.0]]
    want = [[58.0, 64.0], [139.0, 154.0]]
    a, b = torch.tensor(rows), torch.tensor(cols)
    host = (a @ b).tolist()
    got = (a.to(device) @ b.to(device)).cpu().tolist()
    if not (_close(got, want) and _close(host, want)):
        return Check("device compute", FAIL, f"matmul on {device} gave {got}, expected {want}")
    return Check("device compute", OK, f"2x3 @ 3x2 matmul on {device} gives the exact result")


def _runs(capability: tuple[int, int], arch_list: list[str]) -> str | None:
    """How a device of `capability` runs a build with `arch_list`, or None when it cannot:
    kernels of its own major built for a minor not above its own (8.6 runs sm_80), else the
    PTX of a compute_XY not above it, which the driver JIT-compiles at first use. sm_XYa
    kernels run on X.Y alone."""
    kernels, ptx = [], []
    for entry in arch_list:
        found = _ARCH.fullmatch(entry)
        if found is None:
            continue
        number = int(found.group(2))
        arch = (number // 10, number % 10)
        if found.group(1) == "compute":
            ptx.append(arch)
        elif arch == capability or (
            found.group(3) != "a" and arch[0] == capability[0] and arch[1] <= capability[1]
        ):
            kernels.append(arch)
    if kernels:
        best = max(kernels)
        return "its sm_{}{} kernels".format(*best)
    usable = [arch for arch in ptx if arch <= capability]
    if usable:
        return "the PTX of compute_{}{} (JIT-compiled at first use)".format(*max(usable))
    return None


def _check_arch(torch: Any) -> tuple[Check, dict[str, str | None]]:
    """Every visible CUDA device's compute capability against the build's arch list."""
    cuda = torch.cuda
    if not hasattr(cuda, "get_arch_list") or not hasattr(cuda, "get_device_capability"):
        return Check("device arch", SKIP, "this torch has no torch.cuda.get_arch_list()"), {}
    arch_list = [str(entry) for entry in cuda.get_arch_list()]
    listed = " ".join(arch_list) or "none"
    found, problems, capabilities = [], [], []
    for index in range(int(cuda.device_count())):
        major, minor = (int(part) for part in cuda.get_device_capability(index))
        capabilities.append(f"{major}.{minor}")
        name = f"{cuda.get_device_name(index)} (compute capability {major}.{minor})"
        how = _runs((major, minor), arch_list)
        if how is None:
            problems.append(f"{name}: sm_{major}{minor} is not in the build's arch list")
        else:
            found.append(f"{name} runs {how}")
    facts: dict[str, str | None] = {
        "compute_capability": ",".join(capabilities) or None,
        "arch_list": listed,
    }
    if problems:
        detail = "; ".join(problems) + f" ({listed}): no kernel image for it"
        return Check("device arch", FAIL, detail), facts
    return Check("device arch", OK, "; ".join(found) + f"; arch list: {listed}"), facts


def _device_checks(expect: Backend, torch: Any, gpu: bool) -> tuple[list[Check], str]:
    device = expect.device
    if not gpu:
        if expect.kind == "mps":
            why = (
                "MPS availability is not checked without --gpu (hosted macOS runners misreport it)"
            )
            return [Check("device", SKIP, why)], "cpu"
        if expect.kind == "cpu":
            return [
                Check("device", SKIP, "no accelerator expected; add --gpu to run on the CPU")
            ], "cpu"
        probe = "torch.cuda.is_available()" if device == "cuda" else "torch.xpu.is_available()"
        found = _is_available(expect, torch)
        detail = f"{probe} is {found}; a working device is required only with --gpu"
        return [Check("device", SKIP, detail)], "cpu"
    if expect.kind == "cpu":
        available = Check("device", OK, "--expect cpu: the device is the CPU")
    elif not _is_available(expect, torch):
        probe = {"cuda": "torch.cuda", "xpu": "torch.xpu", "mps": "torch.backends.mps"}[device]
        detail = f"--gpu: no {device} device ({probe}.is_available() is False)"
        return [Check("device", FAIL, detail), Check("device compute", SKIP, "no device")], "cpu"
    else:
        name = ""
        if device == "cuda":
            name = f": {torch.cuda.get_device_name(0)} ({torch.cuda.device_count()} visible)"
        available = Check("device", OK, f"{device} available{name}")
    try:
        compute = _check_compute(torch, device)
    except Exception as exc:  # a device that is "available" but cannot run kernels
        compute = Check("device compute", FAIL, f"on {device}: {type(exc).__name__}: {exc}")
    return [available, compute], device


def run_checks(
    expect: Backend,
    *,
    gpu: bool = False,
    torch_version: str | None = None,
    platform: str | None = None,
) -> Report:
    """Import torch and check it (and any companions) against `expect`; never raises."""
    import importlib

    checks: list[Check] = []
    facts: dict[str, str | None] = {
        "torch_version": None,
        "local_tag": None,
        "cuda": None,
        "hip": None,
    }
    if platform:
        checks.append(_check_platform(platform))
    try:
        torch: Any = importlib.import_module("torch")
        full_version = str(torch.__version__)
        cuda = getattr(torch.version, "cuda", None)
        hip = getattr(torch.version, "hip", None)
    except Exception as exc:  # a broken install raises more than ImportError (OSError, ...)
        where = f" (interpreter: {sys.executable})"
        checks.append(Check("torch import", FAIL, f"{type(exc).__name__}: {exc}{where}"))
        return Report(expect, gpu, facts, "cpu", checks)
    public, local = _split_local(full_version)
    facts.update(torch_version=full_version, local_tag=local, cuda=cuda, hip=hip)
    checks.append(
        Check("torch import", OK, f"torch {full_version} from {getattr(torch, '__file__', '?')}")
    )
    if torch_version is None:
        checks.append(Check("torch version", OK, f"{public} (no --torch-version given)"))
    elif _same_version(public, torch_version):
        checks.append(Check("torch version", OK, f"{public} as required"))
    else:
        checks.append(
            Check("torch version", FAIL, f"{public}, but --torch-version {torch_version}")
        )

    steps: list[tuple[str, Callable[[], Check]]] = [
        ("build", partial(_check_build, expect, torch, cuda, hip)),
        ("local tag", partial(_check_local_tag, expect, local)),
        *((name, partial(_check_companion, name, local, cuda, hip)) for name in COMPANIONS),
        *(  # only those installed: most projects have none of them
            (name, partial(_check_companion, name, local, cuda, hip, module, public))
            for name, module in EXTENSIONS
            if _installed(module)
        ),
    ]
    for name, step in steps:
        try:
            checks.append(step())
        except Exception as exc:  # an odd build must give a FAIL line, not a traceback
            checks.append(Check(name, FAIL, f"{type(exc).__name__}: {exc}"))
    try:
        device_checks, device = _device_checks(expect, torch, gpu)
    except Exception as exc:
        device_checks, device = [Check("device", FAIL, f"{type(exc).__name__}: {exc}")], "cpu"
    if device == "cuda" and expect.kind == "cuda":
        try:
            arch, found = _check_arch(torch)
        except Exception as exc:
            arch, found = Check("device arch", FAIL, f"{type(exc).__name__}: {exc}"), {}
        facts.update(found)
        device_checks.insert(1, arch)
    checks.extend(device_checks)
    return Report(expect, gpu, facts, device, checks)


def report_json(report: Report) -> dict[str, object]:
    """The machine report written by --json."""
    return {
        "ok": report.ok,
        "expected": report.expect.name,
        "gpu": report.gpu,
        **report.facts,
        "device": report.device,
        "checks": [check._asdict() for check in report.checks],
        "failed": [check.name for check in report.failed],
    }


def format_human(report: Report) -> str:
    mode = "build and device" if report.gpu else "build only; --gpu also requires a device"
    lines = [f"torch smoke check: --expect {report.expect.name} ({mode})"]
    width = max(len(check.name) for check in report.checks)
    for check in report.checks:
        status = {OK: "ok", FAIL: "FAIL", SKIP: "skip"}[check.status]
        lines.append(f"  {status:<4}  {check.name:<{width}}  {check.detail}")
    failed = report.failed
    if failed:
        names = ", ".join(check.name for check in failed)
        lines.append(f"FAILED: {len(failed)} of {len(report.checks)} checks: {names}")
    else:
        skipped = sum(check.status == SKIP for check in report.checks)
        lines.append(f"passed: {len(report.checks) - skipped} checks ok, {skipped} skipped")
    return "\n".join(lines) + "\n"


def _markdown_cell(text: str) -> str:
    text = " ".join(text.split())
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("`", "'")):
        text = text.replace(raw, escaped)
    return text


def format_summary(report: Report) -> str:
    """The Markdown table appended to $GITHUB_STEP_SUMMARY."""
    verdict = "passed" if report.ok else "FAILED"
    facts = report.facts
    toolkit = "no CUDA/HIP"
    if facts["cuda"]:
        toolkit = f"CUDA {facts['cuda']}"
    elif facts["hip"]:
        toolkit = f"HIP {facts['hip']}"
    head = [
        f"torch {facts['torch_version'] or 'not importable'}",
        toolkit,
        f"device {report.device}",
    ]
    lines = [
        f"### torch smoke check: {_markdown_cell(report.expect.name)} {verdict}",
        "",
        _markdown_cell(" · ".join(head)),
        "",
        "| check | result | detail |",
        "| --- | --- | --- |",
    ]
    icons = {OK: "✅ ok", FAIL: "❌ FAIL", SKIP: "⚪ skip"}
    for check in report.checks:
        lines.append(f"| {check.name} | {icons[check.status]} | {_markdown_cell(check.detail)} |")
    return "\n".join(lines) + "\n\n"


def github_outputs(report: Report) -> dict[str, str]:
    """The step outputs; a value that is not a plain token is written empty, never raw."""
    facts = report.facts
    values = {
        "torch-version": facts["torch_version"] or "",
        "cuda-version": facts["cuda"] or facts["hip"] or "",
        "device": report.device,
    }
    return {k: v if _SAFE_OUTPUT.fullmatch(v) else "" for k, v in values.items()}


def _annotation(text: str) -> str:
    """A workflow-command message: %, CR and LF escaped so it stays one command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _publish(report: Report, out: TextIO) -> None:
    """Step summary, step outputs and error annotations, when running in GitHub Actions."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(format_summary(report))
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as handle:
            handle.writelines(f"{k}={v}\n" for k, v in github_outputs(report).items())
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for check in report.failed:
            message = _annotation(f"{check.name}: {check.detail}")
            out.write(f"::error title=torch smoke check::{message}\n")


def _backend_arg(text: str) -> Backend:
    try:
        return parse_backend(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _platform_arg(text: str) -> str:
    if not _PLATFORM.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"unknown platform {text!r}: expected linux-x86_64, linux-aarch64, macos-arm64, "
            "macos-x86_64, windows-x86_64 or windows-arm64"
        )
    return text


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Check that the installed torch is the build (and device) CI asked for.",
        epilog="Exit codes: 0 all checks passed, 1 a check failed, 2 bad arguments.",
    )
    parser.add_argument(
        "--expect",
        required=True,
        type=_backend_arg,
        metavar="BACKEND",
        help="the backend the build must have: cpu, cuXYZ (cu124), rocmX.Y, xpu or mps",
    )
    parser.add_argument(
        "--gpu",
        action="store_true",
        help="also require a working device and run a small tensor op on it",
    )
    parser.add_argument(
        "--json", metavar="FILE", help="write a machine-readable report to FILE ('-': stdout)"
    )
    parser.add_argument(
        "--torch-version", metavar="VERSION", help="require this torch version (local tag ignored)"
    )
    parser.add_argument(
        "--platform",
        type=_platform_arg,
        metavar="PLATFORM",
        help="require this platform, e.g. linux-x86_64 or macos-arm64",
    )
    parser.add_argument(
        "--python",
        metavar="PYTHON",
        help="check the torch of this interpreter (a project's .venv/bin/python) instead of "
        "the one running the check",
    )
    return parser


def venv_python(folder: str) -> str:
    """The interpreter of the virtual environment in `folder`, as uv lays it out."""
    if os.name == "nt":
        return os.path.join(folder, "Scripts", "python.exe")
    return os.path.join(folder, "bin", "python")


def _without_python(argv: list[str]) -> list[str]:
    """The arguments less --python and its value: what the chosen interpreter runs."""
    rest: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--python":
            skip = True
        elif not arg.startswith("--python="):
            rest.append(arg)
    return rest


def _is_this_interpreter(python: str) -> bool:
    """Whether `python` is the environment running now: a venv's interpreter links to its
    base Python, so the environments are compared, not the executables."""
    try:
        here = os.path.join(sys.prefix, "")
        there = os.path.dirname(os.path.dirname(os.path.abspath(python)))
        return os.path.samefile(here, there)
    except OSError:
        return False


def _run_elsewhere(python: str, argv: list[str]) -> int:
    """This file run by another interpreter, with the same arguments but --python."""
    import subprocess

    if not os.path.isfile(python):
        sys.stderr.write(f"smoke: --python {python}: no such interpreter\n")
        return 2
    # the interpreter runs the check itself (a shim whose prefix differs must not loop)
    env = {**os.environ, CHOSEN_ENV: python}
    try:
        command = [python, os.path.abspath(__file__), *_without_python(argv)]
        return subprocess.run(command, env=env).returncode
    except OSError as exc:
        sys.stderr.write(f"smoke: --python {python}: cannot run it: {exc}\n")
        return 2


def _missing_torch_hint(report: Report, prog: str, chosen: bool) -> str:
    """What to do when this interpreter has no torch: install it there, when it was chosen
    (--python, a project's .venv); else check the project's own environment instead."""
    missing = "No module named 'torch'"
    if not any(c.name == "torch import" and missing in c.detail for c in report.failed):
        return ""
    if chosen:
        return (
            f"smoke: no torch in {sys.executable}\n"
            "  hint: install the project's torch into it: `uv sync` (or `uvtorch-ci sync`, "
            "which picks this machine's build) in the project\n"
        )
    command = f"{prog} --python {venv_python('.venv')} --expect {report.expect.name}"
    return (
        f"smoke: no torch in {sys.executable}, the interpreter this check ran on\n"
        "  hint: check the project's environment instead: in the project, after `uv sync`, "
        f"run `{command}`\n"
    )


def main(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """Run the smoke check; returns the exit code (0 ok, 1 a check failed, 2 bad arguments)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(prog).parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help
        return exc.code if isinstance(exc.code, int) else 2
    chosen = bool(args.python) or CHOSEN_ENV in os.environ
    if args.python and CHOSEN_ENV not in os.environ:
        import shutil

        python = shutil.which(args.python) or args.python  # a name on PATH, or a path
        if not _is_this_interpreter(python):
            sys.stdout.flush()
            return _run_elsewhere(python, argv)
    report = run_checks(
        args.expect, gpu=args.gpu, torch_version=args.torch_version, platform=args.platform
    )
    out = sys.stderr if args.json == "-" else sys.stdout
    out.write(format_human(report))
    try:
        if args.json:
            import json

            text = json.dumps(report_json(report), indent=2) + "\n"
            if args.json == "-":
                sys.stdout.write(text)
            else:
                with open(args.json, "w", encoding="utf-8") as handle:
                    handle.write(text)
        _publish(report, out)
    except OSError as exc:
        sys.stderr.write(f"smoke: cannot write the report: {exc}\n")
        return 2
    out.flush()
    sys.stderr.write(_missing_torch_hint(report, prog or "python smoke.py", chosen))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
