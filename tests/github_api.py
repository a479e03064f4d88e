"""A stand-in for the `gh` command line and the part of GitHub's REST API the release workflow
uses, for tests/test_release.py: it answers as GitHub does, status codes included, from a
repository kept in a JSON file (GH_STANDIN_STATE), so a job's scripts run unchanged.

- `gh api repos/R/git/ref/tags/T`: that ref exactly, else 404. `git/refs/tags/T` (plural)
  answers as GitHub's matching endpoint does: the ref when it exists, else every ref that
  starts with it (v1 lists v1.0.0), else 404.
- `gh api --method POST repos/R/git/refs -f ref=... -f sha=...`: 201, or 422 "Reference
  already exists". `--method PATCH repos/R/git/refs/tags/T -f sha=... -F force=true`: 200, or
  422 "Reference does not exist"; moving a ref over changed workflow files is refused (403)
  unless the token has the `workflows` permission.
- `gh release view|create|upload`: a release per tag with its files; `create` fails on an
  existing release (422 already_exists) and, with --verify-tag, on a missing tag.

Every write needs a token (GH_TOKEN) that the state grants `contents` (403 otherwise). The
state: {"refs": {ref: sha}, "releases": {tag: [file names]}, "tokens": {token: [permissions]},
"workflow_commits": [shas whose .github/workflows differ from every other commit's]}.
Run as `python github_api.py ARGS...` (the tests put a `gh` script that does so on PATH).
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any

WORKFLOWS_REFUSAL = (
    "refusing to allow a GitHub App to create or update workflow "
    "`.github/workflows/release.yml` without `workflows` permission"
)


class HTTPError(Exception):
    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.body = body or {"message": message, "status": str(status)}


def load() -> tuple[Path, dict[str, Any]]:
    path = Path(os.environ["GH_STANDIN_STATE"])
    return path, json.loads(path.read_text())


def permissions(state: dict[str, Any]) -> list[str]:
    granted: list[str] = state["tokens"].get(os.environ.get("GH_TOKEN", ""), [])
    return granted


def need(state: dict[str, Any], permission: str) -> None:
    if permission not in permissions(state):
        raise HTTPError(403, "Resource not accessible by integration")


def fields(args: list[str]) -> dict[str, str]:
    found = {}
    for flag, value in itertools.pairwise(args):
        if flag in ("-f", "-F", "--field", "--raw-field"):
            key, _, text = value.partition("=")
            found[key] = text
    return found


def ref_object(ref: str, sha: str) -> dict[str, Any]:
    return {"ref": ref, "object": {"sha": sha, "type": "commit"}}


def api(state: dict[str, Any], args: list[str]) -> Any:
    method = args[args.index("--method") + 1] if "--method" in args else "GET"
    path = next(a for a in args if a.startswith("repos/"))
    _, _owner, _name, git, kind, *rest = path.split("/")
    assert git == "git", path
    refs: dict[str, str] = state["refs"]
    ref = "refs/" + "/".join(rest)
    if method == "GET" and kind == "ref":
        if ref in refs:
            return ref_object(ref, refs[ref])
        raise HTTPError(404, "Not Found")
    if method == "GET" and kind == "refs":
        if ref in refs:
            return ref_object(ref, refs[ref])
        matching = [ref_object(r, sha) for r, sha in sorted(refs.items()) if r.startswith(ref)]
        if matching:
            return matching
        raise HTTPError(404, "Not Found")
    given = fields(args)
    need(state, "contents")
    if method == "POST" and kind == "refs" and not rest:
        if given["ref"] in refs:
            raise HTTPError(422, "Reference already exists")
        refs[given["ref"]] = given["sha"]
        return ref_object(given["ref"], given["sha"])
    if method == "PATCH" and kind == "refs":
        if ref not in refs:
            raise HTTPError(422, "Reference does not exist")
        old, new = refs[ref], given["sha"]
        changes = old != new and new in state["workflow_commits"]
        if changes and "workflows" not in permissions(state):
            raise HTTPError(403, WORKFLOWS_REFUSAL)
        if old != new and given.get("force") != "true":
            raise HTTPError(422, "Update is not a fast forward")
        refs[ref] = new
        return ref_object(ref, new)
    raise AssertionError(f"the stand-in does not answer {method} {path}")


def release(state: dict[str, Any], args: list[str]) -> str:
    verb, tag = args[0], args[1]
    releases: dict[str, list[str]] = state["releases"]
    files = [a for a in args[2:] if Path(a).is_file()]
    if verb == "view":
        if tag not in releases:
            raise HTTPError(404, "release not found")
        return f"{tag}\t{len(releases[tag])} files\n"
    need(state, "contents")
    if verb == "create":
        if tag in releases:
            raise HTTPError(
                422,
                "Validation Failed",
                {
                    "errors": [
                        {"resource": "Release", "code": "already_exists", "field": "tag_name"}
                    ]
                },
            )
        if "--verify-tag" in args and f"refs/tags/{tag}" not in state["refs"]:
            raise HTTPError(422, f"tag {tag} doesn't exist in the repo")
        releases[tag] = sorted(Path(f).name for f in files)
        return f"https://github.com/stand-in/releases/tag/{tag}\n"
    if verb == "upload":
        if tag not in releases:
            raise HTTPError(404, "release not found")
        names = {Path(f).name for f in files}
        if names & set(releases[tag]) and "--clobber" not in args:
            raise HTTPError(422, "Validation Failed: asset already_exists")
        releases[tag] = sorted(set(releases[tag]) | names)
        return ""
    raise AssertionError(f"the stand-in does not answer gh release {verb}")


def main(args: list[str]) -> int:
    path, state = load()
    state.setdefault("calls", []).append(args)
    try:
        if args[0] == "api":
            sys.stdout.write(json.dumps(api(state, args[1:])) + "\n")
        elif args[0] == "release":
            sys.stdout.write(release(state, args[1:]))
        else:
            raise AssertionError(f"the stand-in does not answer gh {args[0]}")
    except HTTPError as error:  # as gh prints it: the body on stdout, the status on stderr
        if args[0] == "api":
            sys.stdout.write(json.dumps(error.body) + "\n")
        sys.stderr.write(f"gh: {error.message} (HTTP {error.status})\n")
        return 1
    finally:
        path.write_text(json.dumps(state, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
