"""A small expression language for indicator definitions, run by pandas or DuckDB.

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

_CMP_SQL = {ast.Eq: "=", ast.NotEq: "<>", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
_ARITH_SQL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
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

    # -------------------------------------------------------------- SQL side
    def to_sql(self) -> str:
        """The same expression in DuckDB SQL (identifiers double-quoted)."""
        return _sql(self.tree, self)

    def to_sql_condition(self) -> str:
        """The expression as an SQL condition (a number counts as true when non-zero)."""
        return _sql_bool(self.tree, self)


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
        if not isinstance(node.op, (ast.BitAnd, ast.BitOr, *_ARITH_SQL)):
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
            elif type(op) in _CMP_SQL:
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


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_literal(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def _sql(node, expr: Expression) -> str:
    if isinstance(node, ast.Name):
        return _quote_ident(expr.column_of(node.id))
    if isinstance(node, ast.Constant):
        return _sql_literal(node.value)
    if isinstance(node, ast.BoolOp):
        joiner = " AND " if isinstance(node.op, ast.And) else " OR "
        return "(" + joiner.join(_sql_bool(v, expr) for v in node.values) + ")"
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return f"(-{_sql(node.operand, expr)})"
        return f"(NOT {_sql_bool(node.operand, expr)})"
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.BitAnd | ast.BitOr):
            joiner = " AND " if isinstance(node.op, ast.BitAnd) else " OR "
            return f"({_sql_bool(node.left, expr)}{joiner}{_sql_bool(node.right, expr)})"
        left, right = _sql(node.left, expr), _sql(node.right, expr)
        if isinstance(node.op, ast.Div):
            return f"(CAST({left} AS DOUBLE) / NULLIF(CAST({right} AS DOUBLE), 0))"
        return f"({left} {_ARITH_SQL[type(node.op)]} {right})"
    if isinstance(node, ast.Compare):
        parts, left = [], _sql(node.left, expr)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, ast.In | ast.NotIn):
                values = ", ".join(_sql_literal(e.value) for e in comp.elts)
                neg = "NOT " if isinstance(op, ast.NotIn) else ""
                parts.append(f"({left} {neg}IN ({values}))")
            else:
                right = _sql(comp, expr)
                parts.append(f"({left} {_CMP_SQL[type(op)]} {right})")
                left = right
        return "(" + " AND ".join(parts) + ")"
    if isinstance(node, ast.Call):
        arg = _sql(node.args[0], expr)
        return f"({arg} IS {'NOT ' if node.func.id == 'notna' else ''}NULL)"
    raise ConfigError(f"unsupported expression node {type(node).__name__}")  # pragma: no cover


def _is_condition_node(node) -> bool:
    return isinstance(node, ast.Compare | ast.BoolOp | ast.Call) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.Invert)
    ) or (isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd | ast.BitOr))


def _sql_bool(node, expr: Expression) -> str:
    """A sub-expression used as a condition (numbers: value <> 0, as pandas does)."""
    text = _sql(node, expr)
    return text if _is_condition_node(node) else f"(CAST({text} AS DOUBLE) <> 0)"
