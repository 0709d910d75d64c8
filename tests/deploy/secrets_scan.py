"""Finds secrets written inline in deployment files (values, runner templates, Dockerfiles).

A secret-looking key (password, token, secret, access/private/crypt key, cookie) may only hold
nothing, or a reference: a mapping such as ``valueFrom.secretKeyRef``, or, for keys that name
a Kubernetes Secret (``existingSecret``, ``secretName``, the runner chart's ``runners.secret``),
a plain resource name. Any string that looks like a credential is reported wherever it is.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

SECRET_KEY = re.compile(r"pass(word|wd)?|secret|token|api_?key|access_?key|private_?key|crypt_?key|cookie", re.I)
NAMES_A_SECRET = {"existingSecret", "secretName", "certsSecretName", "secret"}
K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CREDENTIAL = re.compile(
    r"gl(pat|rt|dt|ptt|oas)-[0-9A-Za-z_-]{10,}"  # GitLab personal, runner, deploy, trigger, OAuth
    r"|AKIA[0-9A-Z]{16}"                            # AWS-style access key id
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\b[0-9a-f]{32,}\b"                           # hex keys (crypt keys, tokens)
    r"|\b[A-Za-z0-9+/]{40,}={0,2}"                  # base64 blobs
)
PY_ASSIGNMENT = re.compile(r"""(\w*(?:secret|token|password|key)\w*)\s*=\s*(['"])([^'"]+)\2""", re.I)


def _walk(node, path: str, findings: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, str):
                if key in NAMES_A_SECRET:
                    if not K8S_NAME.match(value):
                        findings.append(f"{where}: a Secret's name expected")
                elif SECRET_KEY.search(str(key)) and value.strip():
                    findings.append(f"{where}: inline value for a secret-looking key")
            _walk(value, where, findings)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _walk(value, f"{path}[{i}]", findings)
    elif isinstance(node, str):
        if CREDENTIAL.search(node):
            findings.append(f"{path}: looks like a credential")
        for name, _, literal in PY_ASSIGNMENT.findall(node):
            findings.append(f"{path}: code assigns a literal to {name}")


def scan_data(data, label: str = "") -> list[str]:
    findings: list[str] = []
    _walk(data, label, findings)
    return findings


def scan_file(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if path.suffix in {".yaml", ".yml"}:
        findings = []
        for i, document in enumerate(yaml.safe_load_all(text)):
            findings += scan_data(document, f"{path.name}#{i}")
        return findings
    if path.suffix == ".toml":
        return scan_data(tomllib.loads(text), path.name)
    # Dockerfiles and other text: each line as a string, plus ENV/ARG secret names
    findings = scan_data(text.splitlines(), path.name)
    for line in text.splitlines():
        if re.match(r"\s*(ENV|ARG)\s", line) and re.search(r"(TOKEN|SECRET|PASSWORD)\w*\s*[= ]\s*\S", line, re.I):
            findings.append(f"{path.name}: {line.strip()}")
    return findings
