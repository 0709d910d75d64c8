"""The deploy guide's per-person MinIO steps (docs/deploy-aks.md, steps 1 and 4), run for real.

The guide's own shell lines build ``users.json`` (bash, ``umask``, ``openssl rand``, ``jq``) for
the given people; the ``mc`` lines are left out (no MinIO server here: the store's side of the
per-user identities is tested against SeaweedFS in tests/demo/test_demo_identities.py). The
result is what ``kubectl create secret generic NAME --from-file=users.json`` stores: kubectl names
the key after the file's base name unless ``--from-file=KEY=PATH`` says otherwise
(``kubectl create secret generic --help``).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .z2jh import REPO

DOC = REPO / "docs" / "deploy-aks.md"
FILE = "users.json"


def sh_blocks(path: Path = DOC) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def block_with(line_start: str, path: Path = DOC) -> str:
    """The one ``sh`` block of the guide with a line starting with ``line_start``."""
    (block,) = [b for b in sh_blocks(path) if any(line.startswith(line_start) for line in b.splitlines())]
    return block


@dataclass
class GuideSecret:
    name: str  # the Secret the guide creates
    data: dict[str, str]  # key -> content, as the Secret holds it
    file_mode: int  # users.json's permission bits on the admin's disk


def build_users_secret(workdir: Path, people: list[str], existing: str | None = None) -> GuideSecret:
    """Step 1's blocks for ``people`` (each run of the per-person block with her name), then
    step 4's ``kubectl create secret generic ... --from-file`` read as the Secret it creates.
    With ``existing`` (the users.json step 8 fetches back from the Secret), people are added to it."""
    person = block_with("export S3_USER=")
    script = ["set -euo pipefail"]
    workdir.mkdir(parents=True, exist_ok=True)
    if existing is None:
        script.append(block_with("echo '{}' > users.json"))
    else:
        (workdir / FILE).write_text(existing)
        (workdir / FILE).chmod(0o600)
    for name in people:
        for line in person.splitlines():
            if line.startswith("mc "):
                continue
            script.append(re.sub(r"\bS3_USER=\S+", f"S3_USER={shlex.quote(name)}", line, count=1))
    env = {"PATH": os.environ["PATH"], "HOME": str(workdir), "LANG": "C.UTF-8"}
    result = subprocess.run(["bash", "-c", "\n".join(script)], cwd=workdir, env=env, capture_output=True, text=True,
                            timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"the guide's per-person steps failed: {result.stderr[-2000:]}")
    (create,) = [shlex.split(line) for block in sh_blocks() for line in block.splitlines()
                 if line.startswith("kubectl create secret generic ") and "--from-file=" in line
                 and "--dry-run" not in line]  # step 4's (step 8 replaces the same Secret)
    (source,) = [word.split("=", 1)[1] for word in create if word.startswith("--from-file=")]
    key, _, path = source.rpartition("=") if "=" in source else (Path(source).name, "", source)
    file = workdir / path
    return GuideSecret(name=create[4], data={key: file.read_text()}, file_mode=file.stat().st_mode & 0o777)
