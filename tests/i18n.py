"""Find every translatable string of the JupyterLab extension (``trans.__``/``_n``/``_p`` calls)."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCES = REPO_ROOT / "lab_ext" / "src"
JA_CATALOG = REPO_ROOT / "lab_ext" / "hybridhub" / "lab_ext" / "locale" / "ja_JP" / "LC_MESSAGES" / "hybridhub.json"

_STRING = r"""(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")"""
_CALL = re.compile(r"\btrans\.(__|_n|_p)\(\s*" + _STRING + r"(?:\s*,\s*" + _STRING + r")?", re.S)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def extract_msgids(root: Path = SOURCES) -> set[str]:
    """msgids used in the TypeScript sources; for ``_n`` both singular and plural forms."""
    found: set[str] = set()
    for path in sorted(root.rglob("*.ts*")):
        for match in _CALL.finditer(path.read_text(encoding="utf-8")):
            kind, first_a, first_b, second_a, second_b = match.groups()
            first = first_a if first_a is not None else first_b
            second = second_a if second_a is not None else second_b
            if kind == "_p":  # context, then msgid
                found.add(_unescape(second or ""))
            else:
                found.add(_unescape(first))
                if kind == "_n" and second is not None:
                    found.add(_unescape(second))
    return found


def load_catalog(path: Path = JA_CATALOG) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
