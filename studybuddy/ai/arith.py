"""Checking the arithmetic a model states ("12 × 4 = 48") with a small, safe evaluator: numbers,
+ − × ÷ and powers in parentheses, nothing else (no names, no calls), bounded in size."""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable

_OPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_SYMBOLS = str.maketrans({"×": "*", "·": "*", "÷": "/", "−": "-", "–": "-", "^": "**", "⋅": "*"})
# "expression = value": the expression is numbers joined by at least one operator.
_NUM = r"[-−]?\d[\d,]*(?:\.\d+)?"
_OP = r"[-+*/×·÷^−⋅]"
# Not after a word, a number or an operator (so "x − 2 × 3" is not read as "2 × 3"), and not
# followed by more arithmetic (so "= 5 + x" is not read as stating 5).
_STATED = re.compile(
    rf"(?<![\w.)])(?<!{_OP})(?<!{_OP}\s)(?P<expr>\(?\s*{_NUM}(?:\s*{_OP}\s*\(?\s*{_NUM}\s*\)?)+\s*\)?)"
    rf"\s*=\s*(?P<value>{_NUM})(?![\d.]*\s*{_OP}\s*[\d\w(])"
)
MAX_POWER = 64


class NotArithmetic(ValueError):
    """The text is not plain arithmetic."""


def evaluate(expression: str) -> float:
    """The value of a plain arithmetic expression; NotArithmetic for anything else."""
    source = expression.translate(_SYMBOLS).replace(",", "")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        raise NotArithmetic(expression) from None
    return _value(tree.body)


def _value(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _value(node.operand)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_POWER:
            raise NotArithmetic("power too large")
        try:
            return _OPS[type(node.op)](left, right)
        except (ZeroDivisionError, OverflowError):
            raise NotArithmetic("undefined") from None
    raise NotArithmetic(ast.dump(node))


def _close(stated: float, actual: float, decimals: int) -> bool:
    """The stated value is the actual one, rounded to the decimals it was written with."""
    return abs(stated - actual) <= max(0.5 * 10 ** -decimals, abs(actual) * 1e-9) + 1e-12


def arithmetic_errors(text: str) -> list[str]:
    """Each stated calculation in `text` that is wrong, as "12 × 4 = 46 (it is 48)"."""
    errors: list[str] = []
    for match in _STATED.finditer(text):
        expression, written = match.group("expr").strip(), match.group("value")
        try:
            actual = evaluate(expression)
        except NotArithmetic:
            continue
        stated = float(written.replace(",", "").replace("−", "-"))
        decimals = len(written.partition(".")[2])
        if not _close(stated, actual, decimals):
            errors.append(f"{expression} = {written} (it is {actual:g})")
    return errors
