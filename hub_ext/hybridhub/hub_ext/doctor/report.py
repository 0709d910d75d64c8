"""The doctor's report: text for people in one language; JSON for machines (the console, a CI step)
with every text in every language, so a reader shows it in its own."""

from __future__ import annotations

import json

from .check import FAIL, PASS, WARN, Result
from .i18n import MESSAGES, text


def as_dict(result: Result, language: str) -> dict:
    return {"check": result.check, "status": result.status, "title": text(language, f"title_{result.check}"),
            "saw": text(language, result.saw, **result.values),
            "fix": text(language, result.fix) if result.fix else None}


def in_languages(result: Result) -> dict:
    """One result with ``title``, ``saw`` and ``fix`` as ``{language: text}`` (``fix`` may be None)."""
    texts = {language: as_dict(result, language) for language in MESSAGES}
    entry = {"check": result.check, "status": result.status}
    for field in ("title", "saw", "fix"):
        entry[field] = {language: t[field] for language, t in texts.items()} if result.fix or field != "fix" else None
    return entry


def counts(results: list[Result]) -> dict[str, int]:
    return {status: sum(r.status == status for r in results) for status in (PASS, WARN, FAIL)}


def render_json(results: list[Result], config_file: str) -> str:
    return json.dumps({"config": config_file, "counts": counts(results),
                       "checks": [in_languages(r) for r in results]}, ensure_ascii=False, indent=2)


def headline(results: list[Result], language: str, config_file: str) -> str:
    n = counts(results)
    return text(language, "report", passed=n[PASS], warned=n[WARN], failed=n[FAIL], config=config_file)


def result_lines(result: Result, language: str) -> list[str]:
    """What a check saw, then (when there is one) the fix."""
    item = as_dict(result, language)
    lines = [f"[{text(language, item['status'])}] {item['title']}: {item['saw']}"]
    if item["fix"]:
        lines.append(f"{text(language, 'fix')}: {item['fix']}")
    return lines


def render_text(results: list[Result], language: str, config_file: str) -> str:
    lines = [headline(results, language, config_file), ""]
    for result in results:
        saw, *fix = result_lines(result, language)
        lines += [saw, *(f"    {line}" for line in fix)]
    return "\n".join(lines)


def exit_code(results: list[Result]) -> int:
    """0 when nothing failed (warnings allowed), 1 when any check failed."""
    return 1 if any(r.status == FAIL for r in results) else 0
