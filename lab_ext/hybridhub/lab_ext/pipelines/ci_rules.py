"""A job's ``rules`` as GitLab evaluates them, for the ``if:`` expressions CI files commonly use.

GitLab (lib/gitlab/ci/build/rules.rb): the first rule that matches decides; its ``when`` (else the
job's ``when``, else on_success) is the job's; no rule matching means ``never`` (the job is not
created). A job without ``rules`` keeps its ``when``.

``if:`` (lib/gitlab/ci/pipeline/expression/): ``$VAR`` (its value; undefined is null), "string" or
'string', ``==``, ``!=``, ``&&``, ``||`` and parentheses; ``==``/``!=`` bind tighter than ``&&``,
which binds tighter than ``||`` (lexeme precedences 10, 11, 12); ``&&``/``||`` return an operand as
Ruby does (only null and false are false), and the rule matches when the result is ``present?``
(not null, false or a blank string). Anything else (regular expressions, null, clauses such as
``changes``) is not understood here: such a rule is taken as matching, since GitLab stays the
judge (this module only tells the panel which jobs to expect).
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"""\s*(?:(\$\w+)|"([^"]*)"|'([^']*)'|(==|!=|&&|\|\||\(|\)))""")
_BINDS = {"==": 10, "!=": 10, "&&": 11, "||": 12}  # lower binds tighter


class Unsupported(ValueError):
    pass


def _tokens(expression: str) -> list[tuple[str, object]]:
    out, at = [], 0
    text = expression.strip()
    while at < len(text):
        found = _TOKEN.match(text, at)
        if not found or found.end() == at:
            raise Unsupported(expression)
        variable, double, single, operator = found.groups()
        if variable:
            out.append(("var", variable[1:]))
        elif operator:
            out.append(("op", operator))
        else:
            out.append(("str", double if double is not None else single))
        at = found.end()
    return out


def _postfix(tokens: list) -> list:
    """Shunting-yard: operands and operators in evaluation order."""
    output, stack = [], []
    for kind, value in tokens:
        if kind != "op":
            output.append((kind, value))
        elif value == "(":
            stack.append(value)
        elif value == ")":
            while stack and stack[-1] != "(":
                output.append(("op", stack.pop()))
            if not stack:
                raise Unsupported("unbalanced parenthesis")
            stack.pop()
        else:
            while stack and stack[-1] != "(" and _BINDS[stack[-1]] <= _BINDS[value]:
                output.append(("op", stack.pop()))
            stack.append(value)
    while stack:
        if stack[-1] == "(":
            raise Unsupported("unbalanced parenthesis")
        output.append(("op", stack.pop()))
    return output


def evaluate(expression: str, values: dict[str, str]):
    stack: list = []
    for kind, value in _postfix(_tokens(expression)):
        if kind == "var":
            stack.append(values.get(value))
        elif kind == "str":
            stack.append(value)
        else:
            if len(stack) < 2:
                raise Unsupported(expression)
            right, left = stack.pop(), stack.pop()
            truthy = left is not None and left is not False
            stack.append({"==": lambda: left == right, "!=": lambda: left != right,
                          "&&": lambda: right if truthy else left, "||": lambda: left if truthy else right}[value]())  # fmt: skip
    if len(stack) != 1:
        raise Unsupported(expression)
    return stack[0]


def matches(expression: str, values: dict[str, str]) -> bool:
    try:
        result = evaluate(expression, values)
    except Unsupported:
        return True
    return result is True or (isinstance(result, str) and result.strip() != "")


def job_when(spec: dict, values: dict[str, str]) -> str:
    """The job's ``when`` in a pipeline with these variables; "never": not created."""
    default = str(spec.get("when", "on_success"))
    rules = spec.get("rules")
    if not isinstance(rules, list):
        return default
    for rule in rules:
        if isinstance(rule, dict) and ("if" not in rule or matches(str(rule["if"]), values)):
            return str(rule.get("when") or default)
    return "never"
