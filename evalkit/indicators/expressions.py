"""A small expression language for indicator definitions, run by pandas or an engine (Ibis).

Numerators, denominators and filters are written in Python syntax restricted
to what both engines evaluate identically:

* column names (``age``, ``sex``); a name that is not a Python identifier is
  written with back-quotes: ```months homeless```;
* literals: numbers, strings, ``True``/``False``;
* comparisons ``== != < <= > >=`` (chains allowed), ``in`` / ``not in`` a
  list or tuple of literals;
* logic ``and or not`` (or ``& | ~``), arithmetic ``+ - * /`` and unary ``-``;
* ``isna(x)``, ``notna(x)``.

Missing values follow SQL's three-valued logic in both engines (pandas
nullable dtypes implement the same Kleene logic): a comparison with a missing
value is unknown, ``unknown and False`` is False, ``unknown or True`` is True,
and a filter keeps only rows where it is true.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.errors import ConfigError, MissingColumnError

_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_BACKQUOTED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its text, syntax tree and the columns it reads."""

    text: str
    tree: ast.AST
    columns: tuple[str, ...]
    _names: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Expression:
        """Parse ``text``; raise :class:`ConfigError` on syntax outside the language."""
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"an indicator expression must be a non-empty string, got {text!r}")
        names: dict[str, str] = {}

        def _sub(match: re.Match) -> str:
            alias = f"__col{len(names)}__"
            names[alias] = match.group(1)
            return alias

        source = _BACKQUOTED.sub(_sub, text)
        try:
            tree = ast.parse(source.strip(), mode="eval").body
        except SyntaxError as exc:
            raise ConfigError(f"cannot parse indicator expression {text!r}: {exc.msg}") from None
        columns: list[str] = []
        _check(tree, text, columns, names)
        return cls(text, tree, tuple(dict.fromkeys(columns)), tuple(names.items()))

    @property
    def is_condition(self) -> bool:
        """Whether the expression is a condition (comparison, logic, isna/notna)."""
        return _is_condition_node(self.tree)

    def column_of(self, name: str) -> str:
        return dict(self._names).get(name, name)

    # ----------------------------------------------------------- pandas side
    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """Evaluate on ``frame`` with nullable dtypes (missing -> <NA>)."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise MissingColumnError(
                f"indicator expression {self.text!r} reads column(s) {missing} absent from the "
                f"data; available: {list(frame.columns)[:15]}"
            )
        return _eval(self.tree, frame, self)

    # ----------------------------------------------------------- engine side
    def to_ibis(self, table):
        """The same expression on an Ibis table (DuckDB, Spark: SQL semantics)."""
        return _ibis(self.tree, table, self)

    def to_ibis_condition(self, table):
        """The expression as a condition (a number counts as true when non-zero)."""
        return _ibis_bool(self.tree, table, self)


def _check(node, text, columns, names) -> None:
    bad = ConfigError(
        f"indicator expression {text!r} uses {type(node).__name__}, which is not allowed; use "
        "columns, literals, comparisons, in/not in, and/or/not, + - * /, isna(), notna()"
    )
    if isinstance(node, ast.Name):
        columns.append(names.get(node.id, node.id))
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, int | float | str | bool):
            raise bad
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, text, columns, names)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, ast.Not | ast.Invert | ast.USub):
            raise bad
        _check(node.operand, text, columns, names)
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, (ast.BitAnd, ast.BitOr, *_ARITHMETIC)):
            raise bad
        _check(node.left, text, columns, names)
        _check(node.right, text, columns, names)
    elif isinstance(node, ast.Compare):
        _check(node.left, text, columns, names)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                if not isinstance(comp, ast.List | ast.Tuple) or not all(
                    isinstance(e, ast.Constant) for e in comp.elts
                ):
                    raise ConfigError(
                        f"in expression {text!r}, 'in' needs a list of literals, e.g. "
                        "status in ['RIS', 'job']"
                    )
            elif isinstance(op, _COMPARISONS):
                _check(comp, text, columns, names)
            else:
                raise bad
    elif isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id in ("isna", "notna")
                and len(node.args) == 1 and not node.keywords):
            raise bad
        _check(node.args[0], text, columns, names)
    else:
        raise bad


def _nullable(series: pd.Series) -> pd.Series:
    """The column as a pandas nullable dtype (Kleene logic, <NA> for missing)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(series.cat.categories.dtype)
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    if pd.api.types.is_integer_dtype(series):
        return series.astype("Int64")
    if pd.api.types.is_float_dtype(series):
        return series.astype("Float64")
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("Float64")
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    return series.astype(pd.StringDtype("pyarrow", na_value=pd.NA))


def _eval(node, frame: pd.DataFrame, expr: Expression):
    if isinstance(node, ast.Name):
        return _nullable(frame[expr.column_of(node.id)])
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BoolOp):
        values = [_as_bool(_eval(v, frame, expr), frame) for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, frame, expr)
        if isinstance(node.op, ast.USub):
            return -operand
        return ~_as_bool(operand, frame)
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, frame, expr), _eval(node.right, frame, expr)
        if isinstance(node.op, ast.BitAnd):
            return _as_bool(left, frame) & _as_bool(right, frame)
        if isinstance(node.op, ast.BitOr):
            return _as_bool(left, frame) | _as_bool(right, frame)
        if isinstance(node.op, ast.Div):
            left = _as_float(left)
            right = _as_float(right)
            with np.errstate(divide="ignore", invalid="ignore"):
                out = left / right
            # SQL: x / 0 is NULL, not inf
            if isinstance(out, pd.Series):
                out = out.mask(np.isinf(out.astype("float64").to_numpy(na_value=np.nan)))
            return out
        return {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
                ast.Mult: lambda a, b: a * b}[type(node.op)](left, right)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, frame, expr)
        result = None
        for op, comp in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                values = [e.value for e in comp.elts]
                series = _as_series(left, frame)
                part = series.isin(values).astype("boolean").mask(series.isna())
                if isinstance(op, ast.NotIn):
                    part = ~part
                right = None
            else:
                right = _eval(comp, frame, expr)
                part = _compare(op, left, right, frame)
            result = part if result is None else (result & part)
            left = right if right is not None else left
        return result
    if isinstance(node, ast.Call):
        arg = _as_series(_eval(node.args[0], frame, expr), frame)
        out = arg.isna() if node.func.id == "isna" else arg.notna()
        return out.astype("boolean")
    raise ConfigError(f"unsupported expression node {type(node).__name__}")  # pragma: no cover


def _as_series(value, frame) -> pd.Series:
    if isinstance(value, pd.Series):
        return value
    return _nullable(pd.Series([value] * len(frame), index=frame.index))


def _as_float(value):
    if isinstance(value, pd.Series):
        return value.astype("Float64")
    return float(value)


def _as_bool(value, frame) -> pd.Series:
    series = _as_series(value, frame)
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    if pd.api.types.is_numeric_dtype(series):
        # SQL casts numbers to boolean as value <> 0
        return (series != 0).astype("boolean")
    raise ConfigError(f"cannot use a column of type {series.dtype} as a condition")


def _compare(op, left, right, frame) -> pd.Series:
    left, right = _as_series(left, frame), right
    fn = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge"}
    out = getattr(left, fn[type(op)])(right)
    return out.astype("boolean")


def _ibis(node, table, expr: Expression):
    import ibis

    if isinstance(node, ast.Name):
        return table[expr.column_of(node.id)]
    if isinstance(node, ast.Constant):
        return ibis.literal(node.value)
    if isinstance(node, ast.BoolOp):
        values = [_ibis_bool(v, table, expr) for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return -_ibis(node.operand, table, expr)
        return ~_ibis_bool(node.operand, table, expr)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.BitAnd | ast.BitOr):
            left, right = _ibis_bool(node.left, table, expr), _ibis_bool(node.right, table, expr)
            return (left & right) if isinstance(node.op, ast.BitAnd) else (left | right)
        left, right = _ibis(node.left, table, expr), _ibis(node.right, table, expr)
        if isinstance(node.op, ast.Div):  # x / 0 is missing, as in pandas' path
            return left.cast("float64") / right.cast("float64").nullif(0)
        return {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
                ast.Mult: lambda a, b: a * b}[type(node.op)](left, right)
    if isinstance(node, ast.Compare):
        parts, left = [], _ibis(node.left, table, expr)
        ops = {ast.Eq: "__eq__", ast.NotEq: "__ne__", ast.Lt: "__lt__", ast.LtE: "__le__",
               ast.Gt: "__gt__", ast.GtE: "__ge__"}
        for op, comp in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                values = [e.value for e in comp.elts]
                parts.append(left.isin(values) if isinstance(op, ast.In) else left.notin(values))
            else:
                right = _ibis(comp, table, expr)
                parts.append(getattr(left, ops[type(op)])(right))
                left = right
        out = parts[0]
        for p in parts[1:]:
            out = out & p
        return out
    if isinstance(node, ast.Call):
        arg = _ibis(node.args[0], table, expr)
        return arg.isnull() if node.func.id == "isna" else arg.notnull()
    raise ConfigError(f"unsupported expression node {type(node).__name__}")  # pragma: no cover


def _is_condition_node(node) -> bool:
    return isinstance(node, ast.Compare | ast.BoolOp | ast.Call) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert)
    ) or (isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd | ast.BitOr))


def _ibis_bool(node, table, expr: Expression):
    """A sub-expression used as a condition (numbers: value <> 0, as pandas does)."""
    value = _ibis(node, table, expr)
    return value if _is_condition_node(node) else value.cast("float64") != 0
