"""The seven CPAS career types as an explicit, configurable rule set.

The CPAS "activation durable" study sorts the careers of people leaving an article
60§7 contract into seven types. A *sustainable* career is one whose dominant status
is (mainly) a job — full-time, part-time or self-employed. This module writes that
classification down as rules over the monthly states, every threshold a named
parameter of :class:`CareerRules`, and evaluates them vectorised on the dense
``int8`` person x month matrix of :class:`evalkit.data.Sequences`.

Figures computed per person (over the months observed; missing months are skipped,
the months either side of them are treated as adjacent):

- ``employment_share``: share of months in an employment state (FT, PT, SE);
- ``dominant_status``: most frequent status when the employment states are counted
  together as ``"EMP"`` (ties go to the first of EMP, then the alphabet order);
- ``n_interruptions``: number of runs of at least ``min_interruption_months``
  consecutive months out of employment that start after a month in employment
  (runs before the first job are the search after the contract, not interruptions;
  a run that lasts until the end of the follow-up counts);
- ``longest_interruption`` (months; runs of any length after a job), ``n_job_spells``,
  ``first_job_month`` (period position, 1-based, 0 if never employed), ``months_observed``.

Rules, applied in this order (the first that matches decides):

1. ``employment_share >= sustainable_min_share``: *sustainable* if
   ``n_interruptions == 0``, else *sustainable_interrupted*.
2. dominant status is the integration-income state (``RIS``): *integration_income*;
   an allowance state (``ALW``): *allowance*; the activation state (``ACT``):
   *onem_activation*; a state of a user-declared ``dominant_types`` group: that type.
3. ``n_interruptions >= nonsustainable_min_interruptions``:
   *nonsustainable_interrupted*; otherwise *nonsustainable* (job seeker, inactive or
   mostly out of work after at most a short job).

Any study can declare its own states and types: a role set to ``None`` (or ``()``)
says the state does not exist in the data, and its type is not produced; the states
of one dominant type are counted together when finding the dominant status. On the
mvad school-to-work data, for example::

    CareerRules(employment_states=("employment",), integration_state=None,
                allowance_states=(), activation_state=None,
                dominant_types={"education": ("school", "FE", "HE"),
                                "training": ("training",)})

gives the types sustainable, sustainable_interrupted, nonsustainable_interrupted,
nonsustainable, education and training (:attr:`CareerRules.type_codes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from evalkit.data import ExclusionLedger
from evalkit.errors import (
    ConfigError,
    DataValidationError,
    EmptyDataError,
    UnknownCategoryError,
)
from evalkit.options import check_option, renamed
from evalkit.results import EstimateResults
from evalkit.summary import Summary
from evalkit.typology.plots import plot_chronogram, plot_index, plot_type_shares
from evalkit.typology.states import (
    CPAS_ALPHABET,
    as_sequences,
    career_type_labels,
    person_weights,
    skip_missing,
    state_codes,
)

EMPLOYMENT_STATUS = "EMP"
#: Types every rule set produces, in the study's order (the dominant-status types follow).
BASE_TYPES: tuple[str, ...] = ("sustainable", "sustainable_interrupted",
                               "nonsustainable_interrupted", "nonsustainable")
#: The CPAS role parameters and the type each produces.
ROLE_TYPES: tuple[tuple[str, str], ...] = (("integration_state", "integration_income"),
                                           ("allowance_states", "allowance"),
                                           ("activation_state", "onem_activation"))
_CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class CareerRules:
    """Thresholds and state groups of the CPAS career-type rules (see module docstring).

    Parameters
    ----------
    sustainable_min_share
        Share of observed months in employment at or above which a career is
        sustainable ("the dominant status is mainly a job"). Default 0.5.
    min_interruption_months
        Minimum length of a run out of employment, after a job, to count as an
        interruption. Default 2: a single month between two jobs (a change of
        employer) is not an interruption.
    nonsustainable_min_interruptions
        Among careers that are neither sustainable nor dominated by RIS, an
        allowance or activation, the number of interruptions from which the career
        is *non-sustainable interrupted* (alternating short jobs and spells out of
        work). Default 2.
    min_months
        Fewest observed months a sequence needs to be classified. Default 12.
    employment_states, integration_state, allowance_states, activation_state
        State codes playing each role (defaults: the CPAS alphabet). ``None`` (or ``()``
        for the allowance states) when the data have no such state: the type it
        defines (integration_income, allowance, onem_activation) is then not produced.
    dominant_types
        Further types defined by a dominant status, ``{type code: states}`` in priority
        order (e.g. ``{"education": ("school", "FE", "HE")}``): a career that is not
        sustainable and whose dominant status is one of these states gets that type.
        The states of one type are counted together when finding the dominant status.
    """

    sustainable_min_share: float = 0.5
    min_interruption_months: int = 2
    nonsustainable_min_interruptions: int = 2
    min_months: int = 12
    employment_states: tuple[str, ...] = ("FT", "PT", "SE")
    integration_state: str | None = "RIS"
    allowance_states: tuple[str, ...] = ("ALW",)
    activation_state: str | None = "ACT"
    dominant_types: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        # Configuration files give lists; the rules are hashable and immutable.
        for name in ("employment_states", "allowance_states"):
            value = getattr(self, name)
            if value is None:
                value = ()
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(value))
        object.__setattr__(self, "dominant_types", _type_groups(self.dominant_types))
        if not 0 < self.sustainable_min_share <= 1:
            raise ConfigError(
                f"sustainable_min_share must be in (0, 1], got {self.sustainable_min_share!r}")
        for name in ("min_interruption_months", "nonsustainable_min_interruptions", "min_months"):
            value = getattr(self, name)
            if not isinstance(value, int | np.integer) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if not self.employment_states:
            raise ConfigError("employment_states must name at least one state")
        roles = [*self.employment_states, *(s for _, states in self.dominant_groups()
                                            for s in states)]
        if len(set(roles)) != len(roles):
            raise ConfigError(f"a state plays two roles in the rules: {roles}")
        codes = [code for code, _ in self.dominant_groups()]
        clash = [c for c in codes if c in BASE_TYPES or codes.count(c) > 1]
        if clash:
            raise ConfigError(
                f"dominant_types declares type code(s) {sorted(set(clash))} twice or with the "
                f"name of a base type {list(BASE_TYPES)}; give each type its own code")

    def dominant_groups(self) -> list[tuple[str, tuple[str, ...]]]:
        """``(type code, states)`` of every dominant-status type, in priority order."""
        groups = []
        for role, code in ROLE_TYPES:
            value = getattr(self, role)
            states = tuple(value) if isinstance(value, tuple) else (
                () if value is None else (value,))
            if states:
                groups.append((code, states))
        return groups + [(code, states) for code, states in self.dominant_types]

    @property
    def type_codes(self) -> tuple[str, ...]:
        """The types these rules produce, in order (the integer code of a type is its
        position): the four base types, then the dominant-status types."""
        return BASE_TYPES + tuple(code for code, _ in self.dominant_groups())

    def to_dict(self) -> dict:
        """Parameters as a plain dict (for provenance blocks); ``CareerRules(**d)`` rebuilds."""
        out = asdict(self)
        out["dominant_types"] = {code: list(states) for code, states in self.dominant_types}
        return out

    def check_alphabet(self, alphabet) -> None:
        """Raise ``UnknownCategoryError`` if a state the rules name is not in ``alphabet``."""
        roles = {"employment_states": self.employment_states,
                 "integration_state": (() if self.integration_state is None
                                       else (self.integration_state,)),
                 "allowance_states": self.allowance_states,
                 "activation_state": (() if self.activation_state is None
                                      else (self.activation_state,))}
        roles.update({f"dominant_types[{code!r}]": states
                      for code, states in self.dominant_types})
        absent = {role: [s for s in states if s not in alphabet]
                  for role, states in roles.items()}
        absent = {role: states for role, states in absent.items() if states}
        if absent:
            listing = "; ".join(f"{role}: {states}" for role, states in absent.items())
            raise UnknownCategoryError(
                f"the career rules name state(s) absent from the alphabet {list(alphabet)} "
                f"({listing}). Set CareerRules({', '.join(absent)}=...) to the codes your "
                "data use, or to None when the data have no such state.")


def _type_groups(value) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``dominant_types`` as a tuple of ``(code, states)`` from a mapping or pairs."""
    items = value.items() if isinstance(value, Mapping) else (value or ())
    out = []
    for item in items:
        try:
            code, states = item
        except (TypeError, ValueError):
            raise ConfigError(
                f"dominant_types must map type codes to states, e.g. "
                f"{{'education': ['school', 'FE']}}; got {value!r}") from None
        states = (states,) if isinstance(states, str) else tuple(states)
        if not states:
            raise ConfigError(f"dominant_types[{code!r}] names no state")
        out.append((str(code), tuple(str(s) for s in states)))
    return tuple(out)


def classify_matrix(matrix: np.ndarray, alphabet, rules: CareerRules | None = None) -> dict:
    """Apply the career rules to a dense state matrix.

    Parameters
    ----------
    matrix
        ``int8`` array (n_persons x n_months) of codes into ``alphabet``, ``-1`` missing.
        Every row must have at least ``rules.min_months`` observed months.
    alphabet
        State codes; must contain every state the rules name.
    rules
        Thresholds (defaults: :class:`CareerRules`).

    Returns
    -------
    dict of numpy arrays, one entry per person: ``career_type`` (int8 index into
    ``rules.type_codes``), ``employment_share``, ``dominant_status`` (int8 index into
    :func:`statuses`: 0 = employment, then the other statuses), ``dominant_share``, ``n_interruptions``,
    ``longest_interruption``, ``n_job_spells``, ``first_job_month``, ``months_observed``.

    Notes
    -----
    Each row is classified on its own, so inputs larger than memory can be processed
    partition by partition of persons (e.g. ``dask.array.map_blocks`` over row blocks,
    or a loop over Parquet row groups) and the results concatenated. In memory the rows
    are processed in blocks of 200,000 to bound the temporary arrays.
    """
    rules = CareerRules() if rules is None else rules
    alphabet = tuple(alphabet)
    rules.check_alphabet(alphabet)
    parts = [_classify_chunk(matrix[i:i + _CHUNK_ROWS], alphabet, rules)
             for i in range(0, max(matrix.shape[0], 1), _CHUNK_ROWS)]
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def statuses(alphabet, rules: CareerRules) -> list[tuple[str, tuple[str, ...]]]:
    """The statuses competing for the dominant one: ``(name, states)``.

    Employment first (``"EMP"``), then, in alphabet order, each other state on its own,
    except that the states of one dominant type form one status (named by the state
    when it is alone, else by the states joined with ``+``).
    """
    group_of = {s: states for _, states in rules.dominant_groups() for s in states}
    out, seen = [(EMPLOYMENT_STATUS, tuple(rules.employment_states))], set()
    for s in alphabet:
        if s in rules.employment_states or s in seen:
            continue
        states = tuple(x for x in group_of.get(s, (s,)) if x in alphabet)
        seen.update(states)
        out.append(("+".join(states), states))
    return out


def _classify_chunk(m: np.ndarray, alphabet, rules: CareerRules) -> dict:
    n, t = m.shape
    emp_lookup = np.zeros(len(alphabet) + 1, dtype=bool)  # last slot: code -1 (missing)
    emp_lookup[state_codes(alphabet, rules.employment_states)] = True
    # The first job month is read on the calendar, before gaps are closed up.
    emp = emp_lookup[m]
    first_job = np.where(emp.any(axis=1), emp.argmax(axis=1) + 1, 0).astype(np.int16)
    compacted = skip_missing(m)
    if compacted is not m:
        m = compacted
        emp = emp_lookup[m]
    observed = m >= 0
    n_obs = observed.sum(axis=1)
    n_emp = emp.sum(axis=1)

    # Status counts: employment together, then the other statuses.
    status_list = statuses(alphabet, rules)
    counts = np.empty((n, len(status_list)), dtype=np.int32)
    counts[:, 0] = n_emp
    for j, (_, states) in enumerate(status_list[1:], start=1):
        counts[:, j] = np.isin(m, state_codes(alphabet, states)).sum(axis=1)
    dominant = counts.argmax(axis=1).astype(np.int8)
    dominant_n = counts[np.arange(n), dominant]

    # Runs out of employment after the first job ("after a job").
    seen_job = np.logical_or.accumulate(emp, axis=1)
    after = observed & ~emp & seen_job
    run_row, run_len = _runs(after)
    long_runs = run_len >= rules.min_interruption_months
    n_interruptions = np.bincount(run_row[long_runs], minlength=n).astype(np.int16)
    longest = np.zeros(n, dtype=np.int16)
    np.maximum.at(longest, run_row, run_len.astype(np.int16))
    job_row, _ = _runs(emp)
    n_job_spells = np.bincount(job_row, minlength=n).astype(np.int16)

    with np.errstate(invalid="ignore", divide="ignore"):
        share = n_emp / n_obs
        dominant_share = dominant_n / n_obs

    type_index = {code: i for i, code in enumerate(rules.type_codes)}
    status_of = {s: j for j, (_, states) in enumerate(status_list) for s in states}
    career = np.full(n, type_index["nonsustainable"], dtype=np.int8)
    career[n_interruptions >= rules.nonsustainable_min_interruptions] = type_index[
        "nonsustainable_interrupted"]
    # A status belongs to one type only (a state plays one role), so the order is free.
    for code, states in rules.dominant_groups():
        career[dominant == status_of[states[0]]] = type_index[code]
    sustainable = share >= rules.sustainable_min_share
    career[sustainable] = np.where(n_interruptions[sustainable] > 0,
                                   type_index["sustainable_interrupted"],
                                   type_index["sustainable"])
    return {
        "career_type": career,
        "employment_share": share,
        "dominant_status": dominant,
        "dominant_share": dominant_share,
        "n_interruptions": n_interruptions,
        "longest_interruption": longest,
        "n_job_spells": n_job_spells,
        "first_job_month": first_job,
        "months_observed": n_obs.astype(np.int16),
    }


def _runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row index and length of every maximal run of True in each row of ``flags``."""
    n, t = flags.shape
    padded = np.zeros((n, t + 2), dtype=np.int8)
    padded[:, 1:-1] = flags
    edges = np.diff(padded.ravel())
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    # Each row is framed by zeros, so runs never cross rows: starts/ends pair up in order.
    return starts // (t + 2), ends - starts


class RuleTypology:
    """Classify careers into the seven CPAS types with :class:`CareerRules`.

    Parameters
    ----------
    data
        :class:`evalkit.data.Sequences`, a long DataFrame (``id``, ``period``,
        ``state`` columns) or a dense int8 matrix (codes into ``alphabet``).
    rules
        The thresholds; :class:`CareerRules` defaults when omitted.
    id, period, state, alphabet
        Column names and alphabet when ``data`` is a DataFrame or a matrix (the CPAS
        alphabet by default).
    weights
        Optional person weights: a Series indexed by person id, or an array aligned
        with the sequences' rows. Shares are then weighted.
    too_short
        ``"raise"`` (default) refuses sequences with fewer than ``rules.min_months``
        observed months (all-missing included); ``"exclude"`` drops them and records
        them in the ledger.
    unequal_length
        For a DataFrame: ``"raise"`` (default) refuses persons not observed in every
        period; ``"pad"`` keeps their missing months (skipped by the rules); see
        :class:`evalkit.data.Sequences`.

    Examples
    --------
    >>> res = RuleTypology(seq).fit()
    >>> res.to_frame()        # shares by type, with CI and the study's shares
    >>> res.types.head()      # per-person type and the figures that decided it
    """

    @renamed(weights="weights_array")
    def __init__(self, data, *, rules: CareerRules | None = None, id: str = "person_id",  # noqa: A002
                 period: str = "month", state: str = "state", alphabet=None, weights_array=None,
                 too_short: str = "raise", unequal_length: str = "raise",
                 type_labels: Mapping[str, str] | None = None,
                 benchmark: Mapping[str, float] | None = None,
                 benchmark_label: str | None = None) -> None:
        check_option("too_short", too_short, ("raise", "exclude"))
        self.rules = CareerRules() if rules is None else rules
        self.sequences = as_sequences(data, id=id, period=period, state=state,
                                      alphabet=CPAS_ALPHABET if alphabet is None else alphabet,
                                      unequal_length=unequal_length)
        self.rules.check_alphabet(self.sequences.alphabet)
        self.weights = person_weights(weights_array, self.sequences)
        self.too_short = too_short
        self.type_labels = dict(type_labels or {})
        self.benchmark = None if benchmark is None else _check_benchmark(benchmark, self.rules)
        self.benchmark_label = benchmark_label

    def fit(self) -> RuleTypologyResults:
        seq, rules = self.sequences, self.rules
        ledger = seq.ledger.copy() if getattr(seq, "ledger", None) is not None else \
            ExclusionLedger(int((seq.matrix >= 0).sum()), seq.n_persons, "sequences")
        n_obs = (seq.matrix >= 0).sum(axis=1)
        short = n_obs < rules.min_months
        if short.all():
            raise EmptyDataError(
                f"No sequence has the {rules.min_months} observed months the career rules need "
                f"(longest: {int(n_obs.max(initial=0))} months). Check the period column or "
                "lower CareerRules(min_months=...).")
        keep = ~short
        if short.any():
            if self.too_short == "raise":
                bad = np.flatnonzero(short)
                raise DataValidationError(
                    f"{int(short.sum())} of {seq.n_persons} sequence(s) have fewer than "
                    f"{rules.min_months} observed months (e.g. ids {list(seq.ids[bad[:5]])} with "
                    f"{list(n_obs[bad[:5]])} months; all-missing sequences count as 0). The rules "
                    "need that many months to tell a sustainable career from an interrupted one. "
                    "Pass too_short='exclude' to drop them (recorded in the ledger) or lower "
                    "CareerRules(min_months=...).")
            ledger.record("career rules", f"fewer than {rules.min_months} observed months",
                          int(n_obs[short].sum()), int(short.sum()))
        figures = classify_matrix(seq.matrix[keep], seq.alphabet, rules)
        weights = None if self.weights is None else self.weights[keep]
        res = RuleTypologyResults(figures, seq.ids[keep], seq.alphabet, rules, weights, ledger,
                                  id_name=getattr(seq, "id", "person_id"),
                                  type_labels=self.type_labels, benchmark=self.benchmark,
                                  benchmark_label=self.benchmark_label)
        res.sequences = seq if keep.all() else seq.subset(keep)
        return res


def _check_benchmark(benchmark: Mapping[str, float], rules: CareerRules) -> dict[str, float]:
    unknown = [k for k in benchmark if k not in rules.type_codes]
    if unknown:
        raise ConfigError(
            f"benchmark names type(s) {unknown} that the rules do not produce "
            f"({list(rules.type_codes)}); give shares of these types only")
    values = {k: float(v) for k, v in benchmark.items()}
    if any(not 0 <= v <= 1 for v in values.values()):
        raise ConfigError(f"benchmark shares must lie in [0, 1], got {values}")
    return values


class RuleTypologyResults(EstimateResults):
    """Career types by rule: shares (``params``) with standard errors, and per-person figures.

    ``params`` are the (weighted) shares of the seven types; ``std_errors`` their
    standard errors, ``sqrt(p (1 - p) / n)`` unweighted or the linearisation
    ``sqrt(sum w_i^2 (y_i - p)^2) / sum w_i`` with weights.

    Attributes
    ----------
    types : pandas.DataFrame
        One row per person: id, ``career_type`` and the figures the rules used.
    sequences : evalkit.data.Sequences
        The classified sequences (for :meth:`chronogram` and :meth:`index_plot`).
    rules : CareerRules
    ledger : ExclusionLedger
    """

    def __init__(self, figures, ids, alphabet, rules, weights, ledger, id_name="person_id",
                 type_labels=None, benchmark=None, benchmark_label=None):
        codes = rules.type_codes
        k = len(codes)
        y = figures["career_type"]
        n = len(y)
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        totals = np.bincount(y, weights=w, minlength=k)
        share = totals / w.sum()
        onehot = y[:, None] == np.arange(k)[None, :]
        se = np.sqrt(((w[:, None] * (onehot - share[None, :])) ** 2).sum(axis=0)) / w.sum()
        if weights is None:
            se = np.sqrt(share * (1 - share) / n)
        index = pd.Index(list(codes), name="career_type")
        super().__init__(pd.Series(share, index=index), pd.Series(se, index=index),
                         title="Career types (rule typology)",
                         info={"Persons classified": n, "Weighted": weights is not None},
                         ledger=ledger)
        self.rules = rules
        self.alphabet = tuple(alphabet)
        self.counts = pd.Series(np.bincount(y, minlength=k), index=index, name="n")
        status_names = np.array([name for name, _ in statuses(alphabet, rules)])
        self.types = pd.DataFrame({
            id_name: ids,
            "career_type": pd.Categorical.from_codes(y, categories=list(codes)),
            "employment_share": figures["employment_share"],
            "dominant_status": pd.Categorical(status_names[figures["dominant_status"]],
                                              categories=list(status_names)),
            "dominant_share": figures["dominant_share"],
            "n_interruptions": figures["n_interruptions"],
            "longest_interruption": figures["longest_interruption"],
            "n_job_spells": figures["n_job_spells"],
            "first_job_month": figures["first_job_month"],
            "months_observed": figures["months_observed"],
        })
        self.id_name = id_name
        self.weights = weights
        self.type_labels = dict(type_labels or {})
        self.benchmark = benchmark
        self.benchmark_label = benchmark_label

    def labels(self, lang: str = "en") -> dict[str, str]:
        """Type code -> label: the given ``type_labels``, else the CPAS label, else the code."""
        cpas = career_type_labels(lang)
        return {c: self.type_labels.get(c, cpas.get(c, c)) for c in self.params.index}

    def _benchmark_name(self, lang: str) -> str:
        if self.benchmark_label:
            return self.benchmark_label
        return "benchmark" if lang == "en" else "référence"

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Normal (Wald) intervals of the shares, clipped to [0, 1] like statsmodels
        ``proportion_confint(method="normal")``."""
        return super().conf_int(level).clip(0.0, 1.0)

    def to_frame(self, level: float = 0.95, lang: str = "en") -> pd.DataFrame:
        """Shares table: label, persons, share, SE, CI, and ``benchmark_share`` when the
        typology was given a benchmark (NaN for types it does not name)."""
        ci = self.conf_int(level)
        labels = self.labels(lang)
        frame = pd.DataFrame({
            "label": [labels[c] for c in self.params.index],
            "n": self.counts,
            "share": self.params,
            "std_error": self.std_errors,
            "ci_lower": ci["lower"],
            "ci_upper": ci["upper"],
        }, index=self.params.index)
        if self.benchmark is not None:
            frame["benchmark_share"] = pd.Series(self.benchmark, dtype=float)
        return frame

    def sensitivity(self, parameter: str, values) -> pd.DataFrame:
        """Type shares when one threshold of the rules takes each of ``values``.

        Shows how much the typology depends on a threshold (e.g.
        ``sensitivity("sustainable_min_share", [0.4, 0.5, 0.6])``). Returns a DataFrame
        indexed by the parameter value, one column per type (weighted shares when the
        typology is weighted), plus ``changed``: the share of persons whose type differs
        from the one the current rules give.
        """
        thresholds = ("sustainable_min_share", "min_interruption_months",
                      "nonsustainable_min_interruptions")
        check_option("parameter", parameter, thresholds)
        matrix = self.sequences.matrix
        w = np.ones(len(matrix)) if self.weights is None else self.weights
        k = len(self.params)
        base = self.types["career_type"].cat.codes.to_numpy()
        rows = []
        for value in values:
            rules = replace(self.rules, **{parameter: value})
            y = classify_matrix(matrix, self.sequences.alphabet, rules)["career_type"]
            shares = np.bincount(y, weights=w, minlength=k) / w.sum()
            rows.append([*shares, float(np.average(y != base, weights=w))])
        return pd.DataFrame(rows, columns=[*self.params.index, "changed"],
                            index=pd.Index(list(values), name=parameter))

    def profile(self, lang: str = "en") -> pd.DataFrame:
        """What each type looks like: (weighted) means of the rule figures by type.

        Columns: persons, mean employment share, mean share of the dominant status,
        mean number of interruptions, mean longest interruption, mean number of job
        spells, share never employed. Types with nobody are left out.
        """
        w = np.ones(len(self.types)) if self.weights is None else self.weights
        frame = self.types.assign(
            _w=w, never_employed=(self.types["first_job_month"] == 0).astype(float))
        columns = ["employment_share", "dominant_share", "n_interruptions",
                   "longest_interruption", "n_job_spells", "never_employed"]
        weighted = frame[columns].astype(float).mul(frame["_w"], axis=0)
        groups = frame["career_type"].astype(str)
        means = weighted.groupby(groups).sum().div(frame["_w"].groupby(groups).sum(), axis=0)
        means.insert(0, "n", frame.groupby(groups).size())
        order = [c for c in self.params.index if c in means.index]
        means = means.loc[order]
        labels = self.labels(lang)
        means.index = pd.Index([labels[c] for c in order], name="career_type")
        return means

    def summary(self, level: float = 0.95, lang: str = "en") -> Summary:
        """Text table of the shares (percent) with the rule parameters; no person ids."""
        frame = self.to_frame(level, lang)
        table = pd.DataFrame({
            "type": frame["label"],
            "n": frame["n"],
            "%": 100 * frame["share"],
            f"[{level:.0%}": 100 * frame["ci_lower"],
            "CI]": 100 * frame["ci_upper"],
        })
        if "benchmark_share" in frame:
            table[f"{self._benchmark_name(lang)} %"] = 100 * frame["benchmark_share"]
        info = {**self.info, "Rules": ", ".join(
            f"{k}={v}" for k, v in self.rules.to_dict().items() if not isinstance(v, tuple))}
        notes = []
        if self.ledger is not None and len(self.ledger):
            notes.append(f"Excluded: {self.ledger.n_persons_dropped} sequence(s), see .ledger")
        return Summary(self.title, table.set_index("type"), info=info, notes=notes, decimals=1)

    def audit(self, person) -> str:
        """The figures and the rule path that gave ``person`` their type (for checking)."""
        rows = self.types.loc[self.types[self.id_name] == person]
        if rows.empty:
            raise KeyError(f"person {person!r} is not among the classified sequences")
        r = rows.iloc[0]
        p = self.rules
        steps = [f"employment share {r.employment_share:.3f} "
                 f"{'>=' if r.employment_share >= p.sustainable_min_share else '<'} "
                 f"{p.sustainable_min_share} (sustainable_min_share)"]
        if r.employment_share >= p.sustainable_min_share:
            steps.append(f"{r.n_interruptions} interruption(s) of >= {p.min_interruption_months} "
                         f"months (longest {r.longest_interruption})")
        else:
            steps.append(f"dominant status {r.dominant_status} ({r.dominant_share:.3f} of months)")
            dominant = {"+".join(states) for _, states in p.dominant_groups()} | {
                s for _, states in p.dominant_groups() for s in states}
            if r.dominant_status not in dominant:
                steps.append(f"{r.n_interruptions} interruption(s) vs "
                             f"nonsustainable_min_interruptions={p.nonsustainable_min_interruptions}")
        steps.append(f"-> {r.career_type}")
        return "\n".join(steps)

    def chronogram(self, lang: str = "en", **kwargs):
        """State distribution over time, one panel per career type (weighted if fitted
        so); ``kwargs`` go to :func:`~evalkit.typology.plots.plot_chronogram`."""
        return plot_chronogram(self.sequences, group=self._type_group(lang),
                               weights_array=self.weights, lang=lang, **kwargs)

    def index_plot(self, lang: str = "en", max_rows: int = 5000, seed: int = 0, **kwargs):
        """Index plot of the sequences, one panel per career type (subsampled above
        ``max_rows`` persons per panel); ``kwargs`` go to
        :func:`~evalkit.typology.plots.plot_index`."""
        return plot_index(self.sequences, group=self._type_group(lang), lang=lang,
                          max_rows=max_rows, seed=seed, **kwargs)

    def _type_group(self, lang: str) -> pd.Series:
        """Type label per person, ordered as the types (panels follow the rules' order)."""
        labels = self.labels(lang)
        order = [labels[c] for c in self.params.index]
        values = self.types["career_type"].astype(str).map(labels)
        return pd.Series(pd.Categorical(values, categories=order, ordered=True),
                         index=self.types[self.id_name].to_numpy())

    def plot(self, ax=None, *, lang: str = "en", level: float = 0.95):
        """Bar chart of the type shares with confidence intervals (and the benchmark
        shares when the typology was given some)."""
        return plot_type_shares(self.to_frame(level, lang), ax=ax, lang=lang,
                                benchmark_label=self.benchmark_label)
