"""Copy as code: a page's scene as a short runnable script that uses only torch.

The script builds the points as float64 tensors of shape ``(1, 2)`` (one row per
point, the coordinates written exactly with ``repr``), computes the distance and
the loss with ``torch.nn.functional`` and prints one ``name = value`` line per
number, with 10 significant digits: ``d(a, p)``, ``d(a, n)``, ``d(p, n)`` (swap only)
and ``loss`` for a triplet; ``d`` and ``loss`` for a pair. The numbers equal the page's
(:func:`lossviz.core.triplet_reading.read_triplet`, :func:`lossviz.core.pair_reading.read_pair`).

Nothing is evaluated while a snippet is built. A typed distance (``distance ==
"custom"``) is first checked by :func:`lossviz.core.expr.parse_distance`, then rewritten
node by node from its syntax tree into torch calls: the student's text itself is
never pasted. ``ValueError`` is raised for anything that cannot be written.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence

import torch
from torch import Tensor

from lossviz.core.distances import COSINE_NORM_FLOOR
from lossviz.core.expr import parse_distance
from lossviz.core.loss_settings import LossSettings
from lossviz.teaching.references import lp_order

_HEADER = "import torch\nimport torch.nn.functional as F\n"

# Elementwise functions of lossviz.core.expr and the torch function each one is.
_ELEMENTWISE = {
    "abs": "abs",
    "sqrt": "sqrt",
    "square": "square",
    "exp": "exp",
    "log": "log",
    "relu": "relu",
    "sin": "sin",
    "cos": "cos",
    "tanh": "tanh",
    "maximum": "maximum",
    "minimum": "minimum",
}
# Per-row reductions: (..., D) -> (..., 1), as lossviz.core.expr keeps the reduced dim.
_REDUCTIONS = {"sum": "sum", "mean": "mean", "max": "amax", "min": "amin"}
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_CONSTANTS = ("pi", "e")  # torch.pi and torch.e are the same floats as math's


def _number(value: float, allow_inf: bool = False) -> str:
    """A float as Python source that reads back exactly; with allow_inf, +inf as float("inf")."""
    value = float(value)
    if allow_inf and value == math.inf:
        return 'float("inf")'
    if not math.isfinite(value):
        raise ValueError(f"cannot write {value!r} in a snippet: use a finite number")
    return repr(value)


def _point_rows(points: Tensor | Sequence[Sequence[float]], count: int) -> list[list[float]]:
    tensor = torch.as_tensor(points, dtype=torch.float64)
    if tensor.shape != (count, 2):
        raise ValueError(f"expected ({count}, 2) points; got {tuple(tensor.shape)}")
    return tensor.tolist()


def _tensor_line(name: str, row: Sequence[float]) -> str:
    coordinates = ", ".join(_number(v) for v in row)
    return f"{name} = torch.tensor([[{coordinates}]], dtype=torch.float64)"


# --- a typed distance, rewritten from its syntax tree -------------------------------------


def _torch_attr(*names: str) -> ast.expr:
    """``torch.<names...>`` as an expression node."""
    node: ast.expr = ast.Name("torch", ast.Load())
    for name in names:
        node = ast.Attribute(node, name, ast.Load())
    return node


def _call(function: ast.expr, args: list[ast.expr], **keywords: ast.expr) -> ast.Call:
    return ast.Call(function, args, [ast.keyword(k, v) for k, v in keywords.items()])


def _row_keywords() -> dict[str, ast.expr]:
    return {"dim": ast.Constant(-1), "keepdim": ast.Constant(True)}


def _mentions_points(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id in ("a", "b") for n in ast.walk(node))


def _is_number_literal(node: ast.AST) -> bool:
    """An int or float literal (bools are ints to Python, but not to lossviz.core.expr)."""
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    )


def _nonzero_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        node = node.operand
    return _is_number_literal(node) and float(node.value) != 0.0


def _plain_arithmetic(node: ast.AST) -> bool:
    """Constant arithmetic that Python floats compute exactly as float64 tensors do.

    + - * and division by a nonzero literal never raise on floats (overflow gives inf).
    Anything else (a call, ``**``, division by an expression) may raise in Python
    where torch gives inf or nan, so it is computed on tensors instead.
    """
    match node:
        case ast.Constant():
            return _is_number_literal(node)
        case ast.Name(id=name):
            return name in _CONSTANTS
        case ast.UnaryOp(op=ast.UAdd() | ast.USub(), operand=operand):
            return _plain_arithmetic(operand)
        case ast.BinOp(left=left, op=ast.Add() | ast.Sub() | ast.Mult(), right=right):
            return _plain_arithmetic(left) and _plain_arithmetic(right)
        case ast.BinOp(left=left, op=ast.Div(), right=right):
            return _plain_arithmetic(left) and _nonzero_literal(right)
    return False


class _Rewriter:
    """Rewrites a checked lossviz.core.expr tree as torch code in ``a`` and ``b``.

    Constants stay Python floats where torch takes them as they are; where torch
    needs a tensor (a function's argument, arithmetic Python cannot do like torch),
    they become ``a.new_tensor(...)``: float64, like the constants of lossviz.core.expr.
    """

    def __call__(self, node: ast.AST, tensor: bool = False) -> ast.expr:
        """The torch code of ``node``; ``tensor=True``: its value must be a tensor."""
        if not _mentions_points(node):
            if _plain_arithmetic(node):
                code = self._plain(node)
                return self._new_tensor(code) if tensor else code
            if isinstance(node, ast.Constant | ast.Name):
                raise ValueError(f"cannot write {ast.dump(node)} in a snippet")
        match node:
            case ast.Name(id="a" | "b" as name):
                return ast.Name(name, ast.Load())
            case ast.UnaryOp(op=ast.UAdd() | ast.USub() as op, operand=operand):
                return ast.UnaryOp(type(op)(), self(operand, tensor=True))
            case ast.BinOp(left=left, op=op, right=right) if isinstance(op, _OPERATORS):
                # One tensor operand is enough for torch's rules to apply; the right one
                # is a Python float only when it is plain arithmetic.
                left_code = self(left, tensor=_plain_arithmetic(right))
                return ast.BinOp(left_code, type(op)(), self(right))
            case ast.Call(func=ast.Name(id=name), args=args, keywords=[]):
                return self._function(name, args)
        raise ValueError(f"cannot write {type(node).__name__} in a snippet")

    def _plain(self, node: ast.AST) -> ast.expr:
        """Plain constant arithmetic, as Python floats; see :func:`_plain_arithmetic`."""
        match node:
            case ast.Constant(value=value):
                return ast.Constant(float(value))
            case ast.Name(id=name):
                return _torch_attr(name)
            case ast.UnaryOp(op=op, operand=operand):
                return ast.UnaryOp(type(op)(), self._plain(operand))
            case ast.BinOp(left=left, op=op, right=right):
                return ast.BinOp(self._plain(left), type(op)(), self._plain(right))
        raise ValueError(f"cannot write {type(node).__name__} in a snippet")

    @staticmethod
    def _new_tensor(code: ast.expr) -> ast.expr:
        return _call(ast.Attribute(ast.Name("a", ast.Load()), "new_tensor", ast.Load()), [code])

    def _function(self, name: str, args: list[ast.expr]) -> ast.expr:
        if name == "norm" and len(args) == 2:
            return self._norm(args[0], args[1])
        codes = [self(arg, tensor=True) for arg in args]
        if name in _ELEMENTWISE:
            return _call(_torch_attr(_ELEMENTWISE[name]), codes)
        if name in _REDUCTIONS and len(codes) == 1:
            return _call(_torch_attr(_REDUCTIONS[name]), codes, **_row_keywords())
        if name == "norm" and len(codes) == 1:
            return _call(_torch_attr("linalg", "vector_norm"), codes, **_row_keywords())
        if name == "dot" and len(codes) == 2:
            product = ast.BinOp(codes[0], ast.Mult(), codes[1])
            return _call(_torch_attr("sum"), [product], **_row_keywords())
        if name == "clamp" and len(codes) == 3:
            # lossviz.core.expr's clamp is minimum(maximum(x, lo), hi), bounds may be tensors
            lower = _call(_torch_attr("maximum"), codes[:2])
            return _call(_torch_attr("minimum"), [lower, codes[2]])
        raise ValueError(f"cannot write the function {name!r} in a snippet")

    def _norm(self, x: ast.AST, order: ast.AST) -> ast.expr:
        """norm(x, p): torch wants p as a Python number, as lossviz.core.expr passes it."""
        if _mentions_points(order):
            raise ValueError("the p of norm(x, p) must be a number")
        if _plain_arithmetic(order):
            order_code = self._plain(order)
        else:
            order_code = _call(ast.Name("float", ast.Load()), [self(order, tensor=True)])
        keywords = {"ord": order_code, **_row_keywords()}
        return _call(_torch_attr("linalg", "vector_norm"), [self(x, tensor=True)], **keywords)


def custom_distance_code(expr: str) -> str:
    """A typed distance as ``def distance(a, b)``: a, b are (..., D), the result (...).

    The text must pass :func:`lossviz.core.expr.parse_distance` (else ``ExpressionError``,
    a ``ValueError``); the function is rebuilt from its syntax tree, and so is the
    comment that shows what was typed.
    """
    parse_distance(expr)
    tree = ast.parse(expr.strip(), mode="eval")
    body = ast.unparse(_Rewriter()(tree.body))
    return (
        "def distance(a, b):\n"
        f"    # your distance: {ast.unparse(tree.body)}\n"
        "    # a, b: (rows, D); d: (rows, 1), one number per row\n"
        f"    d = {body}\n"
        "    return d.squeeze(-1)\n"
    )


# --- distances and the scripts ------------------------------------------------------------


def _builtin_distance(settings: LossSettings, x: str, y: str) -> str:
    """The torch expression of a registry distance between the tensors named x and y."""
    eps = _number(settings.eps)
    p = lp_order(settings)
    if p is not None:
        return f"F.pairwise_distance({x}, {y}, p={_number(p, allow_inf=True)}, eps={eps})"
    if settings.distance == "cosine":
        floor = _number(COSINE_NORM_FLOOR)
        return f"1 - F.cosine_similarity({x}, {y}, eps={floor})"
    if settings.distance == "squared_euclidean":
        return f"F.pairwise_distance({x}, {y}, eps={eps}) ** 2"
    raise ValueError(f"unknown distance {settings.distance!r}")


def _distance_function(settings: LossSettings) -> str:
    """``def distance(...)`` for any distance the pages offer."""
    if settings.distance == "custom":
        return custom_distance_code(settings.expr)
    return f"def distance(x, y):\n    return {_builtin_distance(settings, 'x', 'y')}\n"


def _print_line(name: str, value: str) -> str:
    return f'print(f"{name} = {{{value}.item():.10g}}")'


LINE_LENGTH = 100  # the project's ruff line length: a built-in distance's script is formatted


def _assignment(target: str, function: str, arguments: Sequence[str]) -> str:
    """``target = function(arguments)`` laid out as ruff formats it: on one line when it
    fits, else the arguments on one indented line, else one per line."""
    joined = ", ".join(arguments)
    line = f"{target} = {function}({joined})"
    if len(line) <= LINE_LENGTH:
        return line
    if len(joined) + 4 <= LINE_LENGTH:
        return f"{target} = {function}(\n    {joined}\n)"
    return f"{target} = {function}(\n" + "".join(f"    {a},\n" for a in arguments) + ")"


def _triplet_loss_line(settings: LossSettings) -> str:
    margin = _number(settings.margin)
    swap = bool(settings.swap)
    p = lp_order(settings)
    if p is not None:
        order, eps = _number(p, allow_inf=True), _number(settings.eps)
        arguments = [f"margin={margin}", f"p={order}", f"eps={eps}", f"swap={swap}"]
        return _assignment(
            "loss", "F.triplet_margin_loss", ("anchor", "positive", "negative", *arguments)
        )
    if not settings.margin > 0:
        raise ValueError("torch's triplet_margin_with_distance_loss needs a margin > 0")
    return _assignment(
        "loss",
        "F.triplet_margin_with_distance_loss",
        ["anchor", "positive", "negative", "distance_function=distance", f"margin={margin}",
         f"swap={swap}"],
    )  # fmt: skip


def triplet_snippet(points: Tensor | Sequence[Sequence[float]], settings: LossSettings) -> str:
    """The playground's triplet as a torch script printing d(a, p), d(a, n) and the loss.

    ``points`` is ``(3, 2)``: rows A, P, N. p-norms use ``F.triplet_margin_loss``;
    cosine, squared Euclidean and a typed distance use
    ``F.triplet_margin_with_distance_loss``. With swap it prints d(p, n) as well.
    """
    anchor, positive, negative = _point_rows(points, 3)
    prints = [
        _print_line("d(a, p)", "distance(anchor, positive)"),
        _print_line("d(a, n)", "distance(anchor, negative)"),
    ]
    if settings.swap:
        prints.append(_print_line("d(p, n)", "distance(positive, negative)"))
    prints.append(_print_line("loss", "loss"))
    return "\n".join(
        [
            "# The playground's triplet loss, computed by torch alone.",
            _HEADER,
            "# The triplet: anchor A, positive P, negative N, one row (point) each.",
            _tensor_line("anchor", anchor),
            _tensor_line("positive", positive),
            _tensor_line("negative", negative),
            "\n",
            _distance_function(settings),
            "",
            _triplet_loss_line(settings),
            "",
            *prints,
            "",
        ]
    )


def pair_snippet(
    points: Tensor | Sequence[Sequence[float]], similar: bool, settings: LossSettings
) -> str:
    """The contrastive page's pair as a torch script printing d and the loss.

    ``points`` is ``(2, 2)``: rows X1, X2. The loss is written out as Hadsell et al.'s
    ``y * d**2 + (1 - y) * relu(margin - d)**2`` with y = 1.0 for a similar pair.
    """
    x1, x2 = _point_rows(points, 2)
    if settings.distance == "custom":
        distance = ["", custom_distance_code(settings.expr), ""]
        d_line = "d = distance(x1, x2)"
    else:
        distance = []
        d_line = f"d = {_builtin_distance(settings, 'x1', 'x2')}"
    label = "1.0  # similar: pulled together" if similar else "0.0  # dissimilar: pushed apart"
    return "\n".join(
        [
            "# The contrastive loss of the pair, computed by torch alone.",
            _HEADER,
            "# The pair: X1 and X2, one row (point) each.",
            _tensor_line("x1", x1),
            _tensor_line("x2", x2),
            f"y = {label}",
            f"margin = {_number(settings.margin)}",
            "",
            *distance,
            d_line,
            "loss = y * d**2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2",
            "",
            _print_line("d", "d"),
            _print_line("loss", "loss"),
            "",
        ]
    )


def infonce_snippet(points: Sequence[Sequence[float]], temperature: float, on_circle: bool) -> str:
    """The InfoNCE page's scene as a torch script printing the loss, each candidate's softmax
    weight, the alignment and the uniformity.

    ``points`` is ``(k + 2, 2)``: rows A, P, N1 ... Nk. The numbers equal
    :func:`lossviz.core.circle_reading.read_circle`'s (the loss in the log-sum-exp form,
    which is what ``F.cross_entropy`` computes).
    """
    rows = torch.as_tensor(points, dtype=torch.float64)
    if rows.ndim != 2 or rows.shape[1] != 2 or not 3 <= rows.shape[0] <= 18:
        raise ValueError(f"expected (k + 2, 2) points, k from 1 to 16; got {tuple(rows.shape)}")
    k = rows.shape[0] - 2
    names = ", ".join(["A", "P", *(f"N{i}" for i in range(1, k + 1))])
    written = ",\n".join(f"        [{_number(x)}, {_number(y)}]" for x, y in rows.tolist())
    embed = (
        "z = F.normalize(points, dim=1)  # on the unit circle: similarities are cosines"
        if on_circle
        else "z = points  # off the circle: raw dot products, lengths count"
    )
    return "\n".join(
        [
            f"# InfoNCE of an anchor, its positive and {k} negatives, computed by torch alone.",
            _HEADER,
            f"# One row (point) each: {names}.",
            "points = torch.tensor(",
            "    [",
            f"{written},",
            "    ],",
            "    dtype=torch.float64,",
            ")",
            f"tau = {_number(temperature)}",
            embed,
            "logits = (z[:1] @ z[1:].T) / tau  # (1, k + 1): the positive first, then N1 ... Nk",
            "loss = F.cross_entropy(logits, torch.tensor([0]))  # logsumexp(row) - row[0]",
            "weights = torch.softmax(logits[0], dim=0)  # each candidate's share",
            "alignment = (z[0] - z[1]).pow(2).sum()  # Wang and Isola, of A and P",
            "uniformity = torch.pdist(z).pow(2).mul(-2).exp().mean().log()  # of every point",
            "",
            _print_line("loss", "loss"),
            _print_line("weight(P)", "weights[0]"),
            "for i, weight in enumerate(weights[1:], start=1):",
            '    print(f"weight(N{i}) = {weight.item():.10g}")',
            _print_line("alignment", "alignment"),
            _print_line("uniformity", "uniformity"),
            "",
        ]
    )
