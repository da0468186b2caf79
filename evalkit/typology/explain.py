"""Who ends up in which career type: multinomial logit of type on covariates.

``P(type = k | x) = exp(x'b_k) / sum_j exp(x'b_j)`` with ``b_base = 0``, fitted by
maximum likelihood with statsmodels ``MNLogit``; average marginal effects (AME) are
statsmodels ``get_margeff(at="overall")``: the mean over persons of the derivative of
each type's probability (continuous covariates) or of the change in probability when
a dummy goes from 0 to 1 (categorical levels), with delta-method standard errors.

Categorical covariates enter as treatment dummies named ``covariate[level]``; the
reference level is the first category unless set with ``reference={...}``.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.data import PersonTable, numeric_design
from evalkit.errors import ConfigError, DataValidationError, EstimationError, MissingColumnError
from evalkit.options import check_option, renamed
from evalkit.results import EstimateResults
from evalkit.typology.states import CAREER_TYPE_CODES

MembershipSE = Literal["nonrobust", "HC0", "cluster"]


def _type_frame(types, id: str, type_col: str) -> pd.DataFrame:  # noqa: A002
    """Person id + type from a RuleTypologyResults, a DataFrame or a Series by id."""
    if hasattr(types, "types") and isinstance(types.types, pd.DataFrame):
        frame = types.types
        id_name = getattr(types, "id_name", id)
        return frame[[id_name, "career_type"]].rename(
            columns={id_name: id, "career_type": type_col})
    if isinstance(types, pd.Series):
        return pd.DataFrame({id: types.index.to_numpy(), type_col: types.to_numpy()})
    if isinstance(types, pd.DataFrame):
        missing = [c for c in (id, type_col) if c not in types.columns]
        if missing:
            raise MissingColumnError(
                f"types: column(s) {missing} not found (columns: {list(types.columns)[:10]}); "
                "pass id= and type_col= naming the person id and the type columns")
        return types[[id, type_col]]
    raise DataValidationError(
        "types must be RuleTypologyResults, a DataFrame (id + type columns) or a Series "
        f"indexed by person id, got {type(types).__name__}")


class TypeMembershipModel:
    """Multinomial logit of career type on person covariates.

    Parameters
    ----------
    types
        :class:`~evalkit.typology.rules.RuleTypologyResults`, a DataFrame with ``id`` and
        ``type_col`` columns, or a Series of types indexed by person id (e.g. cluster
        labels).
    persons
        DataFrame of person covariates (one row per person, with ``id``), or a
        :class:`evalkit.data.PersonTable`.
    covariates
        Covariate columns. Text or categorical columns (and those in ``categorical``)
        enter as level dummies.
    id, type_col
        Person id column and the name given to the type column.
    base
        Reference type (default: the most frequent type).
    reference
        Reference level per categorical covariate, e.g. ``{"age_band": "26-35"}``.
    categorical
        Numeric columns to treat as categorical (e.g. ``contract_months``).
    cluster
        Column of ``persons`` for cluster-robust standard errors.

    Persons with a missing covariate, or without covariates or type, are dropped and
    recorded in the ledger. Person weights are not supported: statsmodels ``MNLogit``
    has none, and a weighted pseudo-likelihood would need its own variance estimator.
    """

    def __init__(self, types, persons, *, covariates, id: str = "person_id",  # noqa: A002
                 type_col: str = "career_type", base=None, reference=None, categorical=None,
                 cluster: str | None = None) -> None:
        if not covariates:
            raise ConfigError("covariates must name at least one column of persons")
        typed = _type_frame(types, id, type_col)
        if isinstance(persons, PersonTable):
            persons = persons.data
        if type_col in persons.columns:
            persons = persons.drop(columns=type_col)
        if id not in persons.columns:
            raise MissingColumnError(f"persons: id column {id!r} not found; pass id=...")
        # Outer join: persons without a type and typed persons without covariates become
        # rows with a missing value, which PersonTable drops and records in the ledger.
        merged = persons.merge(typed.assign(**{type_col: typed[type_col].astype(str)}),
                               on=id, how="outer", validate="one_to_one")
        table = PersonTable(merged, id=id, group=type_col, covariates=list(covariates),
                            categorical=categorical, cluster=cluster, source="persons + types")
        self.table, self.type_col, self.cluster = table, type_col, cluster
        counts = table.data[type_col].value_counts()
        self.base = counts.idxmax() if base is None else str(base)
        if self.base not in counts.index:
            raise ConfigError(f"base type {base!r} not among the types {sorted(counts.index)}")
        self.reference = dict(reference or {})
        self.dummies: dict[str, list[str]] = {}
        self.design = self._design()

    def _design(self) -> pd.DataFrame:
        data = self.table.data.copy()
        renames, categorical = {}, []
        for column in self.table.covariates:
            if not isinstance(data[column].dtype, pd.CategoricalDtype):
                continue
            categorical.append(column)
            cats = data[column].cat.remove_unused_categories()
            ref = self.reference.get(column, cats.cat.categories[0])
            if ref not in list(cats.cat.categories):
                raise ConfigError(
                    f"reference level {ref!r} of {column!r} is not among its levels "
                    f"{list(cats.cat.categories)[:10]}")
            order = [ref] + [c for c in cats.cat.categories if c != ref]
            data[column] = cats.cat.reorder_categories(order)
            renames |= {f"{column}_{level}": f"{column}[{level}]" for level in order[1:]}
            self.dummies[column] = [f"{column}[{level}]" for level in order[1:]]
        unknown = set(self.reference) - set(categorical)
        if unknown:
            raise ConfigError(f"reference= names non-categorical covariates: {sorted(unknown)}")
        table = object.__new__(PersonTable)
        table.__dict__.update(self.table.__dict__)
        table.data = data
        design = numeric_design(table).rename(columns=renames)
        design.insert(0, "Intercept", 1.0)
        constant = [c for c in design.columns[1:] if design[c].nunique() < 2]
        if constant:
            raise EstimationError(
                f"covariate column(s) {constant} do not vary; drop them from covariates")
        return design

    def _check_empty_cells(self, y_label) -> None:
        """A type with nobody at some covariate level has no finite coefficient for it."""
        empty = []
        for column in self.dummies:
            table = pd.crosstab(pd.Series(y_label, name="type"),
                                self.table.data[column].to_numpy())
            for t, level in zip(*np.nonzero(table.to_numpy() == 0), strict=True):
                empty.append(f"{table.index[t]} x {column}={table.columns[level]}")
        if empty:
            raise EstimationError(
                f"{len(empty)} type x covariate-level cell(s) are empty ({', '.join(empty[:5])}"
                f"{', ...' if len(empty) > 5 else ''}): the logit has no finite maximum. Merge "
                "sparse levels (or types) before modelling membership.")

    @renamed(cov_type="se")
    def fit(self, *, se: MembershipSE = "nonrobust", maxiter: int = 200
            ) -> TypeMembershipResults:
        """Maximum-likelihood fit (Newton).

        ``se`` is the covariance of the coefficients: ``"nonrobust"`` (inverse
        information), ``"HC0"`` (sandwich) or ``"cluster"`` (needs ``cluster=`` in the
        model), as statsmodels' ``cov_type``.

        Raises :class:`~evalkit.errors.EstimationError` when the likelihood does not
        converge or a type is perfectly predicted by the covariates.
        """
        import statsmodels.api as sm  # imported here: it adds ~1 s to importing evalkit

        check_option("se", se, MembershipSE)

        y_label = self.table.data[self.type_col].to_numpy()
        # CPAS types in the study's order, other labels (e.g. clusters) sorted after them.
        others = [t for t in pd.unique(y_label) if t != self.base]
        order = [self.base] + sorted(others, key=lambda t: (
            CAREER_TYPE_CODES.index(t) if t in CAREER_TYPE_CODES else len(CAREER_TYPE_CODES),
            str(t)))
        small = pd.Series(y_label).value_counts().reindex(order)
        if (small < 2).any():
            raise EstimationError(
                f"type(s) {list(small[small < 2].index)} have fewer than 2 persons; "
                "merge them or leave them out before modelling membership")
        self._check_empty_cells(y_label)
        codes = pd.Categorical(y_label, categories=order).codes
        model = sm.MNLogit(codes, self.design)
        kwargs = {}
        if se == "cluster":
            if self.cluster is None:
                raise ConfigError("se='cluster' needs cluster=<column> in the model")
            kwargs = {"cov_type": "cluster",
                      "cov_kwds": {"groups": pd.factorize(self.table.data[self.cluster])[0]}}
        elif se != "nonrobust":
            kwargs = {"cov_type": se}
        with warnings.catch_warnings():
            warnings.simplefilter("error", category=RuntimeWarning)
            try:
                fitted = model.fit(method="newton", maxiter=maxiter, disp=False, **kwargs)
            except (np.linalg.LinAlgError, RuntimeWarning) as exc:
                raise EstimationError(
                    f"multinomial logit failed ({exc}); a type may be perfectly predicted by a "
                    "covariate level: merge sparse levels or types") from exc
            except Exception as exc:
                if type(exc).__name__ == "PerfectSeparationError":
                    raise EstimationError(
                        f"perfect separation: {exc}. Merge sparse covariate levels or types."
                    ) from exc
                raise
        if not fitted.mle_retvals.get("converged", True):
            raise EstimationError(
                f"multinomial logit did not converge in {maxiter} iterations; "
                "check for sparse covariate levels or raise maxiter")
        return TypeMembershipResults(fitted, order, self)


class TypeMembershipResults(EstimateResults):
    """Fitted multinomial logit: coefficients by (type, term) vs the base type.

    Attributes
    ----------
    fitted : statsmodels MNLogitResults
    base : str
    types : list of str (base first)
    """

    def __init__(self, fitted, types, model: TypeMembershipModel) -> None:
        others = types[1:]
        terms = list(model.design.columns)
        params = pd.DataFrame(np.asarray(fitted.params), index=terms, columns=others)
        bse = pd.DataFrame(np.asarray(fitted.bse), index=terms, columns=others)
        index = pd.MultiIndex.from_product([others, terms], names=["career_type", "term"])
        super().__init__(
            pd.Series(params.T.to_numpy().ravel(), index=index),
            pd.Series(bse.T.to_numpy().ravel(), index=index),
            title=f"Multinomial logit of {model.type_col} (base: {types[0]})",
            info={"Persons": int(fitted.nobs), "Log-likelihood": round(float(fitted.llf), 3),
                  "Pseudo R2 (McFadden)": round(float(fitted.prsquared), 4),
                  "Covariance": fitted.cov_type},
            ledger=model.table.ledger,
        )
        self.fitted = fitted
        self.base = types[0]
        self.types = list(types)
        self.terms = terms
        self._model = model

    def coefficients(self) -> pd.DataFrame:
        """Coefficients as a table: rows terms, columns non-base types."""
        return self.params.unstack("career_type").reindex(index=self.terms,
                                                          columns=self.types[1:])

    def odds_ratios(self, level: float = 0.95) -> pd.DataFrame:
        """Relative-risk ratios ``exp(b)`` with their confidence intervals."""
        ci = self.conf_int(level)
        return pd.DataFrame({"rrr": np.exp(self.params), "ci_lower": np.exp(ci["lower"]),
                             "ci_upper": np.exp(ci["upper"])})

    def marginal_effects(self, level: float = 0.95, kind: str = "discrete") -> pd.DataFrame:
        """Average marginal effects on each type's probability, with delta-method SEs.

        ``kind="discrete"`` (default, like Stata ``margins, dydx(i.x)``): for a level of a
        categorical covariate, the mean over persons of ``P_k(level) - P_k(reference)``,
        all other dummies of that covariate set to 0; continuous covariates get the mean
        derivative from statsmodels ``get_margeff(at="overall", dummy=False)``.
        ``kind="derivative"``: statsmodels' mean derivatives for every term.
        (statsmodels' own ``dummy=True`` option fails for ``MNLogit`` in 0.15 and switches
        one dummy at a time, which mixes levels of a covariate.)

        Tidy frame indexed by (career_type, term) over all types, base included: ``ame``,
        ``std_error``, ``z``, ``p_value``, ``ci_lower``, ``ci_upper``. The effects of a
        term sum to 0 over the types.
        """
        check_option("kind", kind, ("discrete", "derivative"))
        terms = self.terms[1:]
        k = len(self.types)
        margeff = self.fitted.get_margeff(at="overall", method="dydx", dummy=False)
        effect = np.asarray(margeff.margeff).reshape(len(terms), k).copy()
        se = np.asarray(margeff.margeff_se).reshape(len(terms), k).copy()
        if kind == "discrete":
            for name, (ame, err) in self._discrete_changes().items():
                effect[terms.index(name)], se[terms.index(name)] = ame, err
        index = pd.MultiIndex.from_product([self.types, terms], names=["career_type", "term"])
        ame = pd.Series(effect.T.ravel(), index=index)
        err = pd.Series(se.T.ravel(), index=index)
        q = stats.norm.ppf(0.5 + level / 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = ame / err
        return pd.DataFrame({"ame": ame, "std_error": err, "z": z,
                             "p_value": 2 * stats.norm.sf(np.abs(z)),
                             "ci_lower": ame - q * err, "ci_upper": ame + q * err})

    def _discrete_changes(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Level-vs-reference changes in mean probabilities and their delta-method SEs.

        For probabilities ``P_k = exp(x'b_k) / sum_j exp(x'b_j)``,
        ``dP_k / db_m = P_k (1{k=m} - P_m) x``; the Jacobian of the mean change is the
        mean of that at the level minus at the reference, and ``Var = J V J'`` with ``V``
        the coefficient covariance (equations stacked, as statsmodels orders it).
        """
        x = self._model.design.to_numpy(dtype=float)
        beta = np.asarray(self.fitted.params, dtype=float)  # p x (K - 1)
        cov = np.asarray(self.fitted.cov_params(), dtype=float)
        n, p = x.shape
        k = beta.shape[1] + 1
        eye = np.eye(k)[:, 1:]  # 1{k = m} for the non-base equations m

        def probs_and_jacobian(design):
            eta = np.column_stack([np.zeros(n), design @ beta])
            eta -= eta.max(axis=1, keepdims=True)
            prob = np.exp(eta)
            prob /= prob.sum(axis=1, keepdims=True)
            a = prob[:, :, None] * (eye[None, :, :] - prob[:, None, 1:])  # n x K x (K-1)
            jac = np.einsum("nkm,np->kmp", a, design) / n  # K x (K-1) x p
            return prob.mean(axis=0), jac.reshape(k, -1)

        out = {}
        columns = list(self._model.design.columns)
        for dummies in self._model.dummies.values():
            idx = [columns.index(d) for d in dummies]
            x0 = x.copy()
            x0[:, idx] = 0.0
            p0, j0 = probs_and_jacobian(x0)
            for name, j in zip(dummies, idx, strict=True):
                x1 = x0.copy()
                x1[:, j] = 1.0
                p1, j1 = probs_and_jacobian(x1)
                jac = j1 - j0
                out[name] = (p1 - p0, np.sqrt(np.einsum("ka,ab,kb->k", jac, cov, jac)))
        return out

    def predict(self) -> pd.DataFrame:
        """Fitted type probabilities of the persons in the model (columns: types, base first)."""
        return pd.DataFrame(np.asarray(self.fitted.predict()), columns=self.types,
                            index=self._model.table.data[self._model.table.id].to_numpy())

    def plot(self, level: float = 0.95, terms=None, *, types=None, type_names=None,
             term_labels=None, xlabel: str = "average marginal effect (percentage points)",
             ncols: int = 4):
        """Dot plot of average marginal effects (percentage points) with CIs, one panel per type.

        Parameters
        ----------
        level
            Confidence level of the intervals.
        terms
            Terms (rows) to show, top to bottom (default: all but the intercept).
        types
            Types (panels) to show, in order (default: the model's, base first).
        type_names
            ``{type: name}`` for the panel titles (e.g. ``career_type_labels("fr")``);
            types not in it keep their code.
        term_labels
            ``{term: label}`` for the row labels (e.g. ``"sex[M]" -> "Sex: male"``);
            terms not in it keep their name.
        xlabel
            Label under the panels.
        ncols
            Panels per row (seven side by side are unreadable at page width).

        Returns the matplotlib Figure.
        """
        import textwrap

        import matplotlib.pyplot as plt

        ame = self.marginal_effects(level)
        terms = list(terms or self.terms[1:])
        types = list(types or self.types)
        type_names, term_labels = type_names or {}, term_labels or {}
        ncols = max(1, min(ncols, len(types)))
        nrows = -(-len(types) // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(2.4 * ncols + 2, nrows * (
            0.35 * len(terms) + 1.2) + 0.5), sharey=True, squeeze=False)
        y = np.arange(len(terms))[::-1]
        for k, ax in enumerate(axes.ravel()):
            if k >= len(types):
                fig.delaxes(ax)
                continue
            t = types[k]
            part = ame.loc[t].reindex(terms)
            ax.errorbar(100 * part["ame"], y, xerr=100 * np.vstack(
                [part["ame"] - part["ci_lower"], part["ci_upper"] - part["ame"]]),
                fmt="o", color="#2166ac", capsize=2, markersize=3)
            ax.axvline(0, color="grey", linewidth=0.7)
            ax.set_title(textwrap.fill(str(type_names.get(t, t)), 22, break_long_words=False),
                         fontsize=9)
        axes[0][0].set_yticks(y, [str(term_labels.get(term, term)) for term in terms])
        fig.supxlabel(xlabel)
        fig.tight_layout()
        return fig
