"""TEST DOUBLE of GitLab's job ``rules`` at pipeline creation, for ``if:`` expressions.

Reproduced from gitlabhq:
* lib/gitlab/ci/build/rules.rb ``evaluate``: the first matching rule wins; its ``when`` or else the
  job's default (the job's ``when``, else on_success) and its ``allow_failure``; no match: ``never``,
  and a ``never`` job is not created (lib/gitlab/ci/pipeline/seed/build.rb ``included?``);
* lib/gitlab/ci/build/rules/rule/clause/if.rb + lib/gitlab/ci/pipeline/expression/statement.rb
  ``truthful?`` (``evaluate.present?``): lexemes variable.rb (``$NAME``: the variable's value, nil
  when undefined), string.rb ("..." or '...'), equals.rb / not_equals.rb (precedence 10), and.rb
  (11), or.rb (12: binds loosest), parenthesis_open/close.rb; ``&&``/``||`` are Ruby's, returning an
  operand (only nil and false are falsy);
* doc/ci/variables/predefined_variables.md: ``CI_PIPELINE_SOURCE`` is "api" for pipelines
  triggered by the pipelines API.
Other lexemes (=~, !~, null, !) and rule clauses (changes, exists) are not reproduced: a CI file
using them fails the test instead of being evaluated wrongly.
"""

from __future__ import annotations

import re

_LEXEME = re.compile(r"""\s*(\$\w+|"[^"]*"|'[^']*'|==|!=|&&|\|\||\(|\))""")
_PRECEDENCE = {"||": 12, "&&": 11, "==": 10, "!=": 10}


class UnsupportedRule(AssertionError):
    """A rule the stand-in does not reproduce: the test must not pass on a guess."""


def _lex(text: str) -> list[str]:
    lexemes, position = [], 0
    while text[position:].strip():
        found = _LEXEME.match(text, position)
        if not found:
            raise UnsupportedRule(f"rules:if not reproduced by the stand-in: {text!r}")
        lexemes.append(found.group(1))
        position = found.end()
    return lexemes


class _Parser:
    def __init__(self, text: str, variables: dict):
        self.lexemes, self.variables, self.text = _lex(text), variables, text

    def parse(self):
        value = self.expression(12)
        if self.lexemes:
            raise UnsupportedRule(f"rules:if not reproduced by the stand-in: {self.text!r}")
        return value

    def expression(self, level: int):
        """Operators binding at ``level`` or tighter (a lower precedence number binds tighter)."""
        if level < 10:
            return self.operand()
        left = self.expression(level - 1)
        while self.lexemes and _PRECEDENCE.get(self.lexemes[0]) == level:
            operator = self.lexemes.pop(0)
            right = self.expression(level - 1)
            if operator == "==":
                left = left == right
            elif operator == "!=":
                left = left != right
            elif operator == "&&":
                left = right if left not in (None, False) else left
            else:
                left = left if left not in (None, False) else right
        return left

    def operand(self):
        if not self.lexemes:
            raise UnsupportedRule(f"rules:if ends early: {self.text!r}")
        lexeme = self.lexemes.pop(0)
        if lexeme == "(":
            value = self.expression(12)
            if not self.lexemes or self.lexemes.pop(0) != ")":
                raise UnsupportedRule(f"rules:if has an unbalanced parenthesis: {self.text!r}")
            return value
        if lexeme.startswith("$"):
            return self.variables.get(lexeme[1:])
        if lexeme[0] in "\"'":
            return lexeme[1:-1]
        raise UnsupportedRule(f"rules:if not reproduced by the stand-in: {self.text!r}")


def _present(value) -> bool:
    """Ruby's ``present?``: not nil, false or a blank string."""
    return value is True or (isinstance(value, str) and bool(value.strip()))


def evaluate(spec: dict, variables: dict) -> tuple[str, bool | None]:
    """(when, allow_failure of the matching rule or None) of a job; when "never": not created."""
    default = spec.get("when", "on_success")
    if "rules" not in spec:
        return default, None
    for rule in spec["rules"] or []:
        unknown = set(rule) - {"if", "when", "allow_failure"}
        if unknown:
            raise UnsupportedRule(f"rule clauses not reproduced by the stand-in: {sorted(unknown)}")
        if "if" not in rule or _present(_Parser(str(rule["if"]), variables).parse()):
            return rule.get("when") or default, rule.get("allow_failure")
    return "never", None
