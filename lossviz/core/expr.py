"""Safe user-typed distances: turn text such as ``norm(a - b)`` into a torch function.

A student types a distance between two points ``a`` and ``b``. The text is
parsed with :func:`ast.parse` and evaluated by walking an allow-listed syntax
tree on torch tensors. Nothing is ever handed to ``eval``, ``exec`` or
``compile``; constants become float tensors, so ``9**9**9**9`` is ``inf``
(and rejected), never a huge Python integer.

Shapes: ``a`` and ``b`` are ``(..., D)`` tensors whose rows are points
(usually ``(B, D)``). Inside an expression an elementwise value has shape
``(..., D)`` and a per-row value (from ``sum``, ``norm``, ...) has shape
``(..., 1)``, so that it broadcasts against the coordinates. The distance
returned to the caller has shape ``(...,)``: one number per row.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

MAX_LENGTH = 300
MAX_DEPTH = 30
MAX_NODES = 200
MAX_CONSTANT = 1e6

VARIABLES = ("a", "b")
CONSTANTS = {"pi": math.pi, "e": math.e}


class ExpressionError(ValueError):
    """A typed distance that cannot be used; the message is meant for a student."""


@dataclass(frozen=True)
class _Function:
    signature: str
    description: str
    arities: tuple[int, ...]
    apply: Callable[..., Tensor]


def _norm(x: Tensor, p: Tensor | None = None) -> Tensor:
    """The p-norm of each row: (..., D) -> (..., 1); p must be a positive number."""
    order = 2.0
    if p is not None:
        if p.ndim != 0:
            raise ExpressionError("The p in norm(x, p) must be a plain number such as 1, 2 or 3")
        order = float(p)
        if not (0 < order < math.inf):
            raise ExpressionError(f"The p in norm(x, p) must be a positive number, got {order:g}")
    return torch.linalg.vector_norm(x, order, dim=-1, keepdim=True)


_FUNCTIONS: dict[str, _Function] = {
    "abs": _Function("abs(x)", "absolute value, elementwise", (1,), torch.abs),
    "sqrt": _Function("sqrt(x)", "square root, elementwise", (1,), torch.sqrt),
    "square": _Function("square(x)", "x * x, elementwise", (1,), torch.square),
    "exp": _Function("exp(x)", "e to the power x, elementwise", (1,), torch.exp),
    "log": _Function("log(x)", "natural logarithm, elementwise", (1,), torch.log),
    "relu": _Function("relu(x)", "max(x, 0), elementwise", (1,), torch.relu),
    "sin": _Function("sin(x)", "sine, elementwise", (1,), torch.sin),
    "cos": _Function("cos(x)", "cosine, elementwise", (1,), torch.cos),
    "tanh": _Function("tanh(x)", "hyperbolic tangent, elementwise", (1,), torch.tanh),
    "maximum": _Function(
        "maximum(x, y)", "the larger of x and y, elementwise", (2,), torch.maximum
    ),
    "minimum": _Function(
        "minimum(x, y)", "the smaller of x and y, elementwise", (2,), torch.minimum
    ),
    "clamp": _Function(
        "clamp(x, lo, hi)",
        "x limited to the range [lo, hi], elementwise",
        (3,),
        lambda x, lo, hi: torch.minimum(torch.maximum(x, lo), hi),
    ),
    "sum": _Function(
        "sum(x)", "sum of the coordinates of each row", (1,), lambda x: x.sum(-1, keepdim=True)
    ),
    "mean": _Function(
        "mean(x)", "mean of the coordinates of each row", (1,), lambda x: x.mean(-1, keepdim=True)
    ),
    "max": _Function(
        "max(x)", "largest coordinate of each row", (1,), lambda x: x.amax(-1, keepdim=True)
    ),
    "min": _Function(
        "min(x)", "smallest coordinate of each row", (1,), lambda x: x.amin(-1, keepdim=True)
    ),
    "norm": _Function(
        "norm(x) or norm(x, p)", "length of each row (Euclidean, or the p-norm)", (1, 2), _norm
    ),
    "dot": _Function(
        "dot(x, y)",
        "dot product of each pair of rows",
        (2,),
        lambda x, y: (x * y).sum(-1, keepdim=True),
    ),
}

ALLOWED_FUNCTIONS: dict[str, str] = {
    name: f"{function.signature}: {function.description}" for name, function in _FUNCTIONS.items()
}

EXAMPLES: tuple[str, ...] = (
    "norm(a - b)",
    "sqrt(sum((a - b) ** 2))",
    "sum(abs(a - b))",
    "max(abs(a - b))",
    "norm(a - b, 1)",
    "sum(abs(a - b) ** 3) ** (1/3)",
    "1 - dot(a, b) / (norm(a) * norm(b))",
    "sum((a - b) ** 2)",
)

_BINARY_OPERATORS: dict[type[ast.operator], Callable[[Tensor, Tensor], Tensor]] = {
    ast.Add: torch.add,
    ast.Sub: torch.sub,
    ast.Mult: torch.mul,
    ast.Div: torch.div,
    ast.Pow: torch.pow,
}

_OPERATOR_SYMBOLS: dict[type[ast.AST], str] = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Not: "not",
    ast.Invert: "~",
}

_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Attribute: "Attribute access (a.b) is not allowed",
    ast.Subscript: "Indexing and slicing (a[0]) are not allowed: "
    "combine the coordinates with sum(...), max(...) or norm(...)",
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "Loops (for ... in ...) are not allowed",
    ast.SetComp: "Loops (for ... in ...) are not allowed",
    ast.DictComp: "Loops (for ... in ...) are not allowed",
    ast.GeneratorExp: "Loops (for ... in ...) are not allowed",
    ast.IfExp: "Conditions (x if c else y) are not allowed: use maximum, minimum or clamp",
    ast.NamedExpr: "Assignments (:=) are not allowed",
    ast.Starred: "Unpacking with * is not allowed",
    ast.JoinedStr: "Text (strings and f-strings) is not allowed",
    ast.List: "Lists, tuples, sets and dictionaries are not allowed",
    ast.Tuple: "Lists, tuples, sets and dictionaries are not allowed",
    ast.Set: "Lists, tuples, sets and dictionaries are not allowed",
    ast.Dict: "Lists, tuples, sets and dictionaries are not allowed",
    ast.Compare: "Comparisons (<, ==, ...) are not allowed: a distance is a number",
    ast.BoolOp: "'and' and 'or' are not allowed: use maximum or minimum",
}


def _names_help() -> str:
    return f"use a and b, the constants pi and e, or one of the functions {', '.join(_FUNCTIONS)}"


def _check_constant(value: object) -> None:
    """Accept an int or float literal of magnitude at most MAX_CONSTANT."""
    if isinstance(value, bool) or value is None:
        raise ExpressionError(f"{value} is not allowed: use numbers, a and b")
    if isinstance(value, str | bytes):
        raise ExpressionError("Text (strings) is not allowed: write a formula in a and b")
    if isinstance(value, complex):
        raise ExpressionError("Complex numbers (like 1j) are not allowed")
    if not isinstance(value, int | float):
        raise ExpressionError(f"{value!r} is not allowed: use numbers, a and b")
    if not abs(value) <= MAX_CONSTANT:
        shown = str(value) if len(str(value)) <= 12 else str(value)[:9] + "..."
        raise ExpressionError(f"Numbers must be at most 1e6 in size (got {shown})")


def _check_name(name: str) -> None:
    """Accept a variable (a, b) or a constant (pi, e) used as a value."""
    if name in VARIABLES or name in CONSTANTS:
        return
    if name in _FUNCTIONS:
        raise ExpressionError(f"'{name}' is a function: call it with parentheses, e.g. {name}(...)")
    raise ExpressionError(f"Unknown name '{name}': {_names_help()}")


def _check_call(node: ast.Call) -> None:
    """Accept a call of an allowed function by plain name, with positional arguments."""
    if isinstance(node.func, ast.Attribute):
        raise ExpressionError(
            "Attribute access (a.b) is not allowed: call functions by name, e.g. norm(a - b)"
        )
    if not isinstance(node.func, ast.Name):
        raise ExpressionError("Only functions can be called, e.g. norm(a - b); use * to multiply")
    name = node.func.id
    if name in VARIABLES or name in CONSTANTS:
        raise ExpressionError(f"'{name}' is not a function: use * to multiply, e.g. {name} * (...)")
    if name not in _FUNCTIONS:
        raise ExpressionError(f"Unknown function '{name}': {_names_help()}")
    if node.keywords:
        raise ExpressionError(
            "Keyword arguments (like start=1) are not allowed: pass arguments by position"
        )
    function = _FUNCTIONS[name]
    if len(node.args) not in function.arities:
        hint = ""
        if name in ("max", "min"):
            hint = f"; for elementwise {name} of two values use {name}imum(x, y)"
        raise ExpressionError(
            f"{name} got {len(node.args)} argument(s); write {function.signature}{hint}"
        )


def _children(node: ast.AST) -> list[ast.AST]:
    """Check one node against the allow-list and return its sub-expressions."""
    if isinstance(node, ast.Constant):
        _check_constant(node.value)
        return []
    if isinstance(node, ast.Name):
        _check_name(node.id)
        return []
    if isinstance(node, ast.Call):
        _check_call(node)
        return list(node.args)
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        if type(node.op) not in (*_BINARY_OPERATORS, ast.UAdd, ast.USub):
            symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
            raise ExpressionError(f"The operator {symbol} is not allowed: use + - * / and **")
        return [node.operand] if isinstance(node, ast.UnaryOp) else [node.left, node.right]
    message = _FORBIDDEN.get(type(node), f"{type(node).__name__} expressions are not allowed")
    raise ExpressionError(message)


def _check_tree(tree: ast.Expression) -> None:
    """Walk the tree without recursion, enforcing the allow-list, MAX_DEPTH and MAX_NODES."""
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise ExpressionError(f"Nesting is too deep (at most {MAX_DEPTH} levels)")
        if count > MAX_NODES:
            raise ExpressionError(f"The expression is too complicated (max {MAX_NODES} parts)")
        # reversed, so that the leftmost problem is reported first
        stack.extend((child, depth + 1) for child in reversed(_children(node)))


def _parse_tree(text: str) -> ast.Expression:
    """Length check, then ast.parse in eval mode; syntax problems become ExpressionError."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"The expression is too long (max {MAX_LENGTH} characters)")
    if not text.strip():
        raise ExpressionError("Type a distance in a and b, for example norm(a - b)")
    try:
        return ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ExpressionError(f"This is not a valid formula: {error.msg}") from None
    except (ValueError, MemoryError, RecursionError):
        raise ExpressionError("This is not a valid formula") from None


class _Evaluator:
    """Evaluates a checked tree on the points a, b; constants get their dtype and device."""

    def __init__(self, a: Tensor, b: Tensor) -> None:
        self.dtype = torch.promote_types(a.dtype, b.dtype)
        self.device = a.device
        self.names = {"a": a, "b": b}
        self.names.update({name: self.constant(value) for name, value in CONSTANTS.items()})

    def constant(self, value: float) -> Tensor:
        return torch.tensor(float(value), dtype=self.dtype, device=self.device)

    def __call__(self, node: ast.AST) -> Tensor:
        match node:
            case ast.Constant(value=value):
                return self.constant(value)
            case ast.Name(id=name):
                return self.names[name]
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                return -self(operand)
            case ast.UnaryOp(operand=operand):
                return self(operand)
            case ast.BinOp(left=left, op=op, right=right):
                return _BINARY_OPERATORS[type(op)](self(left), self(right))
            case ast.Call(func=ast.Name(id=name), args=args):
                return _FUNCTIONS[name].apply(*(self(arg) for arg in args))
        raise ExpressionError(f"{type(node).__name__} expressions are not allowed")


def _broadcast_rows(a_shape: torch.Size, b_shape: torch.Size) -> torch.Size:
    """Broadcast shape of the rows: (..., D), (..., D) -> (...).

    Plain Python, because torch.broadcast_shapes is slow on its first call.
    Incompatible shapes are left to torch to report during the evaluation.
    """
    rank = max(len(a_shape), len(b_shape)) - 1
    left = (1,) * (rank + 1 - len(a_shape)) + tuple(a_shape[:-1])
    right = (1,) * (rank + 1 - len(b_shape)) + tuple(b_shape[:-1])
    return torch.Size(x if y == 1 else y for x, y in zip(left, right, strict=True))


def _one_per_row(value: Tensor, rows: torch.Size) -> Tensor:
    """(..., 1) per-row value -> (rows) distances; anything else is a student's mistake."""
    if value.ndim == 0:
        raise ExpressionError("The result must depend on a and b, one number per row")
    if value.ndim > len(rows) + 1 or value.shape[-1] != 1:
        raise ExpressionError(
            f"The result must be one number per row, got shape {tuple(value.shape)}: "
            "reduce over the coordinates with sum(...), max(...) or norm(...)"
        )
    return value.squeeze(-1).expand(rows)


class ParsedDistance:
    """A checked distance: call it with a, b of shape (..., D) to get shape (...,).

    Works on any float dtype and device, and gradients flow through it.
    """

    def __init__(self, text: str, tree: ast.Expression) -> None:
        self.text = text
        self._tree = tree

    def __call__(self, a: Tensor, b: Tensor) -> Tensor:
        if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
            raise TypeError("a and b must be torch tensors")
        if not (a.is_floating_point() and b.is_floating_point()) or min(a.ndim, b.ndim) < 1:
            raise TypeError("a and b must be floating-point tensors of shape (..., D)")
        rows = _broadcast_rows(a.shape, b.shape)
        return _one_per_row(_Evaluator(a, b)(self._tree.body), rows)

    def __repr__(self) -> str:
        return f"ParsedDistance({self.text!r})"


def _probe(distance: ParsedDistance) -> None:
    """Evaluate on seeded random float64 points; the result must be finite and >= 0 per row."""
    generator = torch.Generator().manual_seed(0)
    for dim in (3, 2):
        a, b = torch.randn(2, 5, dim, generator=generator, dtype=torch.float64)
        try:
            value = distance(a, b)
        except ExpressionError:
            raise
        except (RuntimeError, ValueError, TypeError, ArithmeticError) as error:
            raise ExpressionError(f"The expression cannot be evaluated: {error}") from None
        if not torch.isfinite(value).all():
            raise ExpressionError("The result is not finite (inf or NaN) for ordinary points")
        if (value < -1e-9).any():
            raise ExpressionError(
                "The result must be non-negative: a distance cannot be negative "
                f"(got {round(value.min().item(), 4)})"
            )


@functools.lru_cache(maxsize=256)
def parse_distance(text: str) -> Callable[[Tensor, Tensor], Tensor]:
    """Parse a distance typed in a and b; (..., D), (..., D) -> (...,).

    Raises ExpressionError, with a message for a student, when the text is not
    an allowed formula or does not give one finite, non-negative number per row.
    A text that parses is parsed once per process (the result is immutable and shared:
    a page checks its typed distance on every rerun); errors are raised every time.
    """
    tree = _parse_tree(text)
    _check_tree(tree)
    distance = ParsedDistance(text.strip(), tree)
    _probe(distance)
    return distance
