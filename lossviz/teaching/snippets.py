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

:func:`simclr_snippet` writes the SimCLR page's training run as a longer script (torch,
math and scikit-learn's digits) that trains it again and prints the final record's numbers.
"""

from __future__ import annotations

import ast
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from lossviz.core.distances import COSINE_NORM_FLOOR
from lossviz.core.expr import parse_distance
from lossviz.core.loss_settings import LossSettings
from lossviz.teaching.references import lp_order
from lossviz.training import contrastive_training as contrastive
from lossviz.training.contrastive_training import ContrastiveConfig

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


# --- the SimCLR page's training run -------------------------------------------------------


def _simclr_settings(config: ContrastiveConfig) -> list[str]:
    how = config.augment
    lines = [
        "# The run's settings.",
        f"SEED = {config.seed}",
        f"STEPS = {config.steps}  # Adam updates",
        f"BATCH_SIZE = {config.batch_size}  # digits per batch, each seen through two views",
        f"LR = {_number(config.lr)}",
        f"TAU = {_number(config.temperature)}  # the temperature",
        f"HIDDEN = {contrastive.HIDDEN}  # the encoder's hidden layer",
        f"OUTPUT_DIM = {config.output_dim}",
    ]
    if config.projector:
        lines.append(f"PROJECTOR_HIDDEN = {contrastive.PROJECTOR_HIDDEN}")
    if config.variance_weight > 0:
        lines.append(f"VARIANCE_WEIGHT = {_number(config.variance_weight)}")
    lines += [
        f"MAX_SHIFT = {how.max_shift}  # augmentation: shift by up to this many pixels",
        f"DROPOUT = {_number(how.dropout)}  # augmentation: each pixel set to 0 with this chance",
        f"NOISE_STD = {_number(how.noise_std)}  # augmentation: Gaussian noise on each pixel",
        f"PROBE_SIZE = {contrastive.PROBE_SIZE}  # digits the final measures are taken on",
    ]
    return lines


_SIMCLR_DATA = '''

def generator(stream):
    """The seed's random stream number `stream`: each kind of draw (a layer's weights, the
    batches, the augmentations, ...) has its own, so they do not disturb each other."""
    return torch.Generator().manual_seed(SEED * 8 + stream)


# The data: 1,797 handwritten digits, 8x8 images flattened to 64 pixels in [0, 1].
digits = load_digits()
x_all = torch.as_tensor(digits.data, dtype=torch.float32) / 16.0
labels = torch.as_tensor(digits.target, dtype=torch.int64)
'''

_SIMCLR_SHIFT = '''

def shift(images, shifts):
    """Each 8x8 image moved by its (down, right) shift, zeros coming in at the edges."""
    side = torch.arange(8)
    rows = side[None, :, None] - shifts[:, 0, None, None]  # the source pixel of each pixel
    cols = side[None, None, :] - shifts[:, 1, None, None]
    inside = (rows >= 0) & (rows < 8) & (cols >= 0) & (cols < 8)
    source = rows.clamp(0, 7) * 8 + cols.clamp(0, 7)
    moved = images.gather(1, source.reshape(-1, 64))
    return moved * inside.reshape(-1, 64).to(images.dtype)
'''


@dataclass(frozen=True)
class _AugmentStep:
    """One step of :func:`lossviz.training.contrastive_training.augment` as script lines."""

    what: str  # what it does to the view, for the docstring
    draw: str  # the random numbers it uses: always drawn, to keep the stream in step
    setting: str  # the script's constant that turns it off at 0
    code: tuple[str, ...]  # its lines, when on


_AUGMENT_STEPS = (
    _AugmentStep(
        "shifted",
        "shift_u = torch.rand(b, 2, generator=draws)",
        "MAX_SHIFT",
        (
            "    # shifts: whole numbers from -MAX_SHIFT to MAX_SHIFT, down and right",
            "    shifts = (shift_u * (2 * MAX_SHIFT + 1)).floor().clamp(max=2 * MAX_SHIFT)",
            "    view = shift(view, shifts.to(torch.int64) - MAX_SHIFT)",
        ),
    ),
    _AugmentStep(
        "pixels dropped",
        "drop_u = torch.rand(b, 64, generator=draws)",
        "DROPOUT",
        ("    view = view.masked_fill(drop_u < DROPOUT, 0.0)",),
    ),
    _AugmentStep(
        "noise added",
        "noise = torch.randn(b, 64, generator=draws)",
        "NOISE_STD",
        ("    view = (view + NOISE_STD * noise).clamp(0.0, 1.0)",),
    ),
)


def _simclr_augment(config: ContrastiveConfig) -> list[str]:
    how = config.augment
    on = (how.max_shift > 0, how.dropout > 0, how.noise_std > 0)  # as _AUGMENT_STEPS
    done = [step.what for step, used in zip(_AUGMENT_STEPS, on, strict=True) if used]
    summary = ", then ".join(done) if done else "the image itself (no augmentation is on)"
    lines = [
        "",
        "",
        "def augment(images, draws):",
        f'    """A random view of each image (B, 64): {summary}."""',
        "    # The same random numbers are drawn whatever the settings use.",
        "    b = images.shape[0]",
    ]
    for step, used in zip(_AUGMENT_STEPS, on, strict=True):
        name, draw = step.draw.split(" = ")
        lines.append(
            f"    {step.draw}" if used else f"    {draw}  # {name}: unused, {step.setting} = 0"
        )
    lines.append("    view = images")
    for step, used in zip(_AUGMENT_STEPS, on, strict=True):
        if used:
            lines += step.code
    lines.append("    return view")
    return lines


_SIMCLR_PROBE = '''

def stratified_indices(labels, size, draws):
    """`size` indices into `labels`, classes taking turns: a random member of each class,
    then a second of each, ... (so the probe set holds every digit equally often)."""
    n = labels.shape[0]
    order = torch.randperm(n, generator=draws)
    shuffled = labels[order]
    by_class = torch.sort(shuffled, stable=True).indices
    sorted_labels = shuffled[by_class]
    starts = torch.searchsorted(sorted_labels, sorted_labels)  # where each class begins
    rank = torch.empty(n, dtype=torch.int64)
    rank[by_class] = torch.arange(n) - starts  # 0 for a class's first member, 1, 2, ...
    turn = rank * (int(labels.max()) + 1) + shuffled
    return order[torch.argsort(turn)][:size]


# The probe set: PROBE_SIZE digits and two fixed random views of each, drawn once.
probe_images = x_all[stratified_indices(labels, PROBE_SIZE, generator(5))]
probe_draws = generator(6)
probe_view1 = augment(probe_images, probe_draws)
probe_view2 = augment(probe_images, probe_draws)
'''


def _simclr_model(config: ContrastiveConfig) -> list[str]:
    lines = [
        "",
        "",
        "def linear(fan_in, fan_out, draws):",
        '    """A layer\'s weight and bias as torch.nn.Linear draws them: uniform in'
        ' +-1/sqrt(fan_in)."""',
        "    bound = 1.0 / math.sqrt(fan_in)",
        "    weight = torch.empty(fan_out, fan_in).uniform_(-bound, bound, generator=draws)",
        "    bias = torch.empty(fan_out).uniform_(-bound, bound, generator=draws)",
        "    return weight.requires_grad_(), bias.requires_grad_()",
        "",
        "",
        "# The encoder: Linear(64, HIDDEN) - ReLU - Linear(HIDDEN, OUTPUT_DIM).",
        "w1, b1 = linear(64, HIDDEN, generator(0))",
        "w2, b2 = linear(HIDDEN, OUTPUT_DIM, generator(1))",
    ]
    if config.projector:
        lines += [
            "# The projector head, trained with it and dropped after training:",
            "# Linear(OUTPUT_DIM, PROJECTOR_HIDDEN) - ReLU - Linear(PROJECTOR_HIDDEN, OUTPUT_DIM).",
            "head = generator(2)",
            "w3, b3 = linear(OUTPUT_DIM, PROJECTOR_HIDDEN, head)",
            "w4, b4 = linear(PROJECTOR_HIDDEN, OUTPUT_DIM, head)",
            "parameters = [w1, b1, w2, b2, w3, b3, w4, b4]",
            "",
            "",
            "def encoder(x):",
            '    """h: the representation of each image (what is kept after training)."""',
            "    return F.linear(torch.relu(F.linear(x, w1, b1)), w2, b2)",
            "",
            "",
            "def projector(h):",
            '    """z: the projector\'s output on h."""',
            "    return F.linear(torch.relu(F.linear(h, w3, b3)), w4, b4)",
            "",
            "",
            "def embed(x):",
            '    """z: the output the loss sees, the projector on the encoder."""',
            "    return projector(encoder(x))",
        ]
    else:
        lines += [
            "parameters = [w1, b1, w2, b2]",
            "",
            "",
            "def encoder(x):",
            '    """h: the representation of each image; here also z, the output the loss sees."""',
            "    return F.linear(torch.relu(F.linear(x, w1, b1)), w2, b2)",
            "",
            "",
            "embed = encoder  # z = h",
        ]
    return lines


_SIMCLR_LOSS = '''

def unit(z):
    """Rows scaled to length 1: points on the unit sphere."""
    return z / torch.linalg.vector_norm(z, dim=1, keepdim=True)


def nt_xent_loss(z1, z2):
    """SimCLR's NT-Xent: each of the 2N views has the other view of its digit as its positive
    and the other 2N - 2 views as negatives; the mean cross-entropy over the 2N views."""
    n = z1.shape[0]
    z = unit(torch.cat([z1, z2]))
    logits = (z @ z.T) / TAU  # cosine similarities over the temperature, (2N, 2N)
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool), -math.inf)  # not itself
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])  # the other view
    return F.cross_entropy(logits, targets, reduction="none").mean()
'''

_SIMCLR_VARIANCE = f'''

def variance_penalty(z):
    """VICReg's variance hinge on the normalised outputs: each dimension's standard deviation
    is pushed up to 1/sqrt(D) (the spread of an even cloud on the sphere), never beyond."""
    std = torch.sqrt(F.normalize(z, dim=1).var(dim=0) + {_number(contrastive.VARIANCE_EPS)})
    return torch.relu(1.0 / math.sqrt(z.shape[1]) - std).mean()
'''


def _simclr_training(config: ContrastiveConfig) -> list[str]:
    if config.variance_weight > 0:
        loss = [
            "    nt_xent = nt_xent_loss(z1, z2)",
            "    loss = nt_xent + VARIANCE_WEIGHT * (variance_penalty(z1) + variance_penalty(z2))",
        ]
    else:
        loss = ["    loss = nt_xent_loss(z1, z2)"]
    return [
        "",
        "",
        "# Training: BATCH_SIZE digits drawn with replacement at each step (batch STEPS, the",
        "# last, is only measured), two random views of each, the loss of the two views' outputs.",
        "batches = torch.randint("
        "0, x_all.shape[0], (STEPS + 1, BATCH_SIZE), generator=generator(3))",
        "draws = generator(4)  # the training views' random numbers",
        "optimizer = torch.optim.Adam(parameters, lr=LR)",
        "for step in range(STEPS + 1):",
        "    x = x_all[batches[step]]",
        "    view1 = augment(x, draws)",
        "    view2 = augment(x, draws)",
        "    z1, z2 = embed(view1), embed(view2)",
        *loss,
        "    if step == STEPS:",
        "        break  # the final weights' loss on the last batch: no update",
        "    optimizer.zero_grad()",
        "    loss.backward()",
        "    optimizer.step()",
    ]


def _simclr_measures(config: ContrastiveConfig) -> list[str]:
    if config.projector:
        outputs = ["    h = encoder(probe_images)", "    z = projector(h)"]
        rank_of = "# the representation h (the projector's input), unnormalised."
    else:
        outputs = ["    h = z = encoder(probe_images)"]
        rank_of = "# the representation h (= z), unnormalised."
    nt_xent = "nt_xent" if config.variance_weight > 0 else "loss"
    prints = [_print_line("nt_xent", nt_xent)]
    if config.variance_weight > 0:
        prints.append(_print_line("loss", "loss"))
    return [
        "",
        "",
        "def effective_rank(embeddings):",
        '    """RankMe (Garrido et al. 2023) of the covariance\'s eigenvalues s:',
        "    exp(-sum p log p) with p = s / sum(s) + 1e-7, how many directions the variance is",
        '    spread over, from 1 (a line) to the dimension (an even cloud)."""',
        "    x = embeddings.to(torch.float64)",
        "    x = x - x.mean(dim=0, keepdim=True)",
        "    s = torch.linalg.svdvals(x.T @ x / x.shape[0])  # the covariance's eigenvalues",
        "    total = float(s.sum())",
        "    if total <= 0:",
        "        return 0.0  # every point on one spot",
        f"    p = s / total + {_number(contrastive.EPS)}",
        "    return math.exp(float(-(p * p.log()).sum()))",
        "",
        "",
        "# The measures of the trained model on the probe set (Wang and Isola 2020): alignment,",
        "# the mean squared distance between a digit's two views on the sphere (lower: closer),",
        "# and uniformity, log of the mean of exp(-2 * squared distance) over pairs of clean",
        "# digits (lower: more evenly spread); and the effective rank of the covariance of",
        rank_of,
        "with torch.no_grad():",
        *outputs,
        "    z1, z2 = embed(probe_view1), embed(probe_view2)",
        "    alignment = torch.linalg.vector_norm(unit(z1) - unit(z2), dim=1).pow(2.0).mean()",
        "    squared = torch.pdist(unit(z)).pow(2)",
        "    uniformity = torch.logsumexp(-2.0 * squared, dim=0) - math.log(squared.numel())",
        "",
        *prints,
        _print_line("alignment", "alignment"),
        _print_line("uniformity", "uniformity"),
        'print(f"effective_rank = {effective_rank(h):.10g}")',
        "",
    ]


def simclr_snippet(config: ContrastiveConfig) -> str:
    """The SimCLR page's run of ``config`` as a standalone script (torch, math and
    scikit-learn's ``load_digits`` only) that trains it again on the CPU and prints the final
    record's ``nt_xent`` (plus ``loss`` with a variance term), ``alignment``, ``uniformity``
    and ``effective_rank``, 10 significant digits each.

    It repeats :func:`lossviz.training.contrastive_training.contrastive_snapshots` step for
    step: the same random streams, initial weights, batches, augmentations, probe set and
    views, and float32 operations in the same order, so on the CPU the numbers equal those
    of ``train_contrastive(config, "cpu").last`` (as long as the run did not stop early: the
    script has none of the run's checks for a loss or gradients that are not finite). The
    projector and the variance term appear only when the config has them.
    """
    if not isinstance(config, ContrastiveConfig):
        raise ValueError(f"expected a ContrastiveConfig; got {config!r}")
    model = "an encoder with a projector head" if config.projector else "an encoder"
    variance = " plus a variance term" if config.variance_weight > 0 else ""
    title = (
        f"SimCLR on the digits: {model} trained with NT-Xent{variance}, by torch alone. "
        "It prints the final measures of the SimCLR page's run."
    )
    return "\n".join(
        [
            *textwrap.wrap(title, LINE_LENGTH - 8, initial_indent="# ", subsequent_indent="# "),
            "import math",
            "",
            _HEADER.rstrip("\n"),
            "from sklearn.datasets import load_digits",
            "",
            *_simclr_settings(config),
            _SIMCLR_DATA.rstrip("\n"),
            *(_SIMCLR_SHIFT.rstrip("\n").split("\n") if config.augment.max_shift > 0 else []),
            *_simclr_augment(config),
            _SIMCLR_PROBE.rstrip("\n"),
            *_simclr_model(config),
            _SIMCLR_LOSS.rstrip("\n"),
            *([_SIMCLR_VARIANCE.rstrip("\n")] if config.variance_weight > 0 else []),
            *_simclr_training(config),
            *_simclr_measures(config),
        ]
    )
