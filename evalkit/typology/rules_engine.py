"""The CPAS career rules evaluated inside an engine (DuckDB or Spark) by window functions.

The same figures and rules as :mod:`evalkit.typology.rules` (its
:class:`~evalkit.typology.rules.CareerRules` thresholds and module docstring
are the definition), computed from long person x month rows without building
the person x month matrix: one window pass ordered by period within each
person, then one aggregate per person. Missing months (absent rows or a
missing state) are skipped, so the observed months either side are adjacent,
as in the in-memory rules.

Window pass over a person's observed months, in period order (``emp``: the
month is in an employment state):

- ``seen_job`` = running maximum of ``emp``; ``after = not emp and seen_job``;
- a run of ``after`` starts where the previous month was not ``after``; its
  start position is the running maximum of the start positions, and it ends
  where the next month is not ``after``: ``length = position - start + 1``;
- a job spell starts where ``emp`` follows a month that is not ``emp``.

Per person: ``n_interruptions`` = runs of length ``>= min_interruption_months``,
``longest_interruption`` = longest run, state counts for the dominant status
(ties to employment, then the alphabet order), and the rules in their order.
Only counts per type leave the engine; the per-person table stays there
(:attr:`EngineTypologyResults.persons`, an Ibis table to write or aggregate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.data import ExclusionLedger
from evalkit.engine import EngineName, connect
from evalkit.errors import (
    ConfigError,
    DataValidationError,
    DuplicateKeyError,
    EmptyDataError,
    MissingColumnError,
    UnknownCategoryError,
)
from evalkit.results import EstimateResults
from evalkit.typology.rules import CareerRules, RuleTypologyResults
from evalkit.typology.states import CAREER_TYPE_CODES, CPAS_ALPHABET

STEP = "career rules (engine)"


def career_figures(table, periods, alphabet, rules: CareerRules, *, id: str,  # noqa: A002
                   period: str, state: str):
    """Ibis table, one row per person: the figures the rules use and ``career_type``.

    ``periods`` are the calendar's periods (``first_job_month`` is the 1-based
    position of the first job month among them).
    """
    import ibis

    others = [s for s in alphabet if s not in rules.employment_states]
    obs = table.filter(table[state].notnull()).select(
        pid=table[id], per=table[period], st=table[state].cast("string"))
    obs = obs.mutate(emp=obs.st.isin(list(rules.employment_states)))
    by_person = ibis.window(group_by=obs.pid, order_by=obs.per)
    running = ibis.cumulative_window(group_by=obs.pid, order_by=obs.per)
    pos = ibis.row_number().over(by_person)
    seen_job = obs.emp.cast("int8").max().over(running) == 1
    stage = obs.mutate(pos=pos, after=~obs.emp & seen_job)
    prev_after = stage.after.lag().over(by_person).fill_null(False)
    next_after = stage.after.lead().over(by_person).fill_null(False)
    prev_emp = stage.emp.lag().over(by_person).fill_null(False)
    stage = stage.mutate(run_start=stage.after & ~prev_after, run_end=stage.after & ~next_after,
                         job_start=stage.emp & ~prev_emp)
    start_pos = ibis.ifelse(stage.run_start, stage.pos, ibis.null("int64")).max().over(running)
    stage = stage.mutate(run_len=ibis.ifelse(stage.run_end, stage.pos - start_pos + 1,
                                             ibis.null("int64")))
    counts = {"c0": stage.emp.sum()}
    counts.update({f"c{1 + j}": (stage.st == s).sum() for j, s in enumerate(others)})
    per_person = stage.group_by(stage.pid).aggregate(
        months_observed=stage.count(),
        # Spark's filtered count is NULL, not 0, when no row matches.
        n_interruptions=stage.count(
            where=stage.run_len >= rules.min_interruption_months).fill_null(0),
        longest_interruption=stage.run_len.max().fill_null(0),
        n_job_spells=stage.job_start.sum(),
        first_job_period=stage.per.min(where=stage.emp),
        **counts,
    )
    keys = [f"c{j}" for j in range(len(others) + 1)]
    most = ibis.greatest(*[per_person[k] for k in keys])
    dominant = ibis.cases(*[(per_person[k] == most, j) for j, k in enumerate(keys)])
    p = per_person.mutate(
        employment_share=per_person.c0.cast("float64") / per_person.months_observed,
        dominant_status=dominant.cast("int8"),
        dominant_share=most.cast("float64") / per_person.months_observed,
    )
    status = {s: 1 + j for j, s in enumerate(others)}
    sustainable = p.employment_share >= rules.sustainable_min_share
    career = ibis.cases(
        (sustainable & (p.n_interruptions == 0), "sustainable"),
        (sustainable, "sustainable_interrupted"),
        (p.dominant_status == status[rules.integration_state], "integration_income"),
        (p.dominant_status.isin([status[s] for s in rules.allowance_states]), "allowance"),
        (p.dominant_status == status[rules.activation_state], "onem_activation"),
        (p.n_interruptions >= rules.nonsustainable_min_interruptions,
         "nonsustainable_interrupted"),
        else_="nonsustainable",
    )
    calendar = ibis.memtable(pd.DataFrame({"first_job_period": list(periods),
                                           "first_job_month": np.arange(1, len(periods) + 1)}))
    p = p.mutate(career_type=career)
    joined = p.left_join(calendar, "first_job_period")
    return joined.select(
        **{id: joined.pid}, career_type=joined.career_type,
        employment_share=joined.employment_share, dominant_status=joined.dominant_status,
        dominant_share=joined.dominant_share, n_interruptions=joined.n_interruptions,
        longest_interruption=joined.longest_interruption, n_job_spells=joined.n_job_spells,
        first_job_month=joined.first_job_month.fill_null(0),
        months_observed=joined.months_observed,
    )


class RuleTypologyEngine:
    """Career types by rule on long person x month data held by DuckDB or Spark.

    Same rules and figures as :class:`evalkit.typology.RuleTypology` (tested
    equal person by person); see the module docstring for the window-function
    formulation.

    Parameters
    ----------
    data
        Parquet file(s) / directory, an Ibis table, a table of the engine or a
        DataFrame: one row per person and month.
    rules
        :class:`~evalkit.typology.rules.CareerRules` (defaults when omitted).
    id, period, state
        Column names.
    alphabet
        State codes (default: the CPAS alphabet); other states raise.
    too_short
        ``"raise"`` or ``"exclude"`` (ledger) for persons with fewer than
        ``rules.min_months`` observed months.
    engine, memory_limit, threads, spark
        The engine (:class:`evalkit.engine.EngineSession`).
    """

    def __init__(self, data, *, rules: CareerRules | None = None, id: str = "person_id",  # noqa: A002
                 period: str = "month", state: str = "state", alphabet=None,
                 too_short: str = "raise", engine: EngineName = "duckdb",
                 memory_limit: str | None = None, threads: int | None = None,
                 spark=None) -> None:
        if too_short not in ("raise", "exclude"):
            raise ConfigError(f"too_short must be 'raise' or 'exclude', got {too_short!r}")
        self.rules = CareerRules() if rules is None else rules
        self.alphabet = tuple(CPAS_ALPHABET if alphabet is None else alphabet)
        self.rules.check_alphabet(self.alphabet)
        self.too_short = too_short
        self.columns = {"id": id, "period": period, "state": state}
        self.session = connect(engine, memory_limit=memory_limit, threads=threads, spark=spark)
        self.table = self.session.table(data)
        missing = [c for c in (id, period, state) if c not in self.table.columns]
        if missing:
            raise MissingColumnError(
                f"column(s) {missing} not in the input (columns: {list(self.table.columns)[:20]});"
                " pass id=, period=, state=")

    def fit(self) -> EngineTypologyResults:
        """Classify every person in the engine; counts per type come back."""
        con, t = self.session.con, self.table
        id_, period, state = self.columns["id"], self.columns["period"], self.columns["state"]
        st = t[state].cast("string")
        check = t.aggregate(
            n_rows=t.count(), n_persons=t[id_].nunique(),
            n_unknown=t.count(where=st.notnull() & ~st.isin(list(self.alphabet))),
            n_missing_state=t.count(where=st.isnull()),
        )
        counts = con.execute(check).iloc[0]
        if int(counts["n_rows"]) == 0:
            raise EmptyDataError("the input has no row")
        if int(counts["n_unknown"]):
            unknown = con.execute(t.filter(st.notnull() & ~st.isin(list(self.alphabet)))
                                  .select(s=st).distinct().limit(5))["s"].tolist()
            raise UnknownCategoryError(
                f"column {state!r} has {int(counts['n_unknown'])} row(s) with states outside the "
                f"alphabet {list(self.alphabet)}, e.g. {unknown}; recode them or pass alphabet=")
        pairs = t.group_by([id_, period]).aggregate(k=t.count())
        dup = pairs.filter(pairs.k > 1)
        n_dup = int(con.execute(dup.count()))
        if n_dup:
            raise DuplicateKeyError(
                f"{n_dup} (person, month) pair(s) appear on several rows ({id_!r}, {period!r}); "
                "keep one state per person and month")
        periods = con.execute(t.select(p=t[period]).distinct().order_by("p"))["p"].tolist()
        ledger = ExclusionLedger(int(counts["n_rows"]), int(counts["n_persons"]),
                                 source=f"{self.session.engine} table")
        if int(counts["n_missing_state"]):
            ledger.record(STEP, f"{state} missing (month skipped)",
                          int(counts["n_missing_state"]), 0,
                          persons_after=int(counts["n_persons"]))
        persons = career_figures(t, periods, self.alphabet, self.rules, id=id_,
                                 period=period, state=state)
        short = persons.months_observed < self.rules.min_months
        summary = con.execute(persons.group_by(persons.career_type).aggregate(
            n=persons.count(where=~short), n_short=persons.count(where=short),
            months_short=persons.months_observed.sum(where=short)))
        n_short = int(summary["n_short"].sum())
        if n_short:
            n_classified = int(summary["n"].sum())
            if self.too_short == "raise" or n_classified == 0:
                raise DataValidationError(
                    f"{n_short} sequence(s) have fewer than {self.rules.min_months} observed "
                    "months; the rules need that many months to tell a sustainable career from "
                    "an interrupted one. Pass too_short='exclude' to drop them (recorded in the "
                    "ledger) or lower CareerRules(min_months=...).")
            ledger.record("career rules", f"fewer than {self.rules.min_months} observed months",
                          int(pd.to_numeric(summary["months_short"]).fillna(0).sum()), n_short)
        type_counts = (summary.set_index("career_type")["n"].reindex(list(CAREER_TYPE_CODES))
                       .fillna(0).astype(np.int64))
        return EngineTypologyResults(type_counts, self.rules, self.alphabet, ledger,
                                     persons.filter(~short), self.session)


class EngineTypologyResults(RuleTypologyResults):
    """Shares of the seven types from engine counts (unweighted).

    Same ``params``, ``std_errors`` (``sqrt(p (1 - p) / n)``), ``counts``,
    :meth:`conf_int` and :meth:`to_frame` as
    :class:`~evalkit.typology.rules.RuleTypologyResults`; the per-person
    figures stay in the engine as :attr:`persons` (an Ibis table: write it with
    ``persons.to_parquet(...)`` or aggregate it further).
    """

    def __init__(self, counts: pd.Series, rules, alphabet, ledger, persons, session):
        n = int(counts.sum())
        share = counts.to_numpy(dtype=float) / n
        index = pd.Index(list(CAREER_TYPE_CODES), name="career_type")
        EstimateResults.__init__(
            self, pd.Series(share, index=index),
            pd.Series(np.sqrt(share * (1 - share) / n), index=index),
            title="CPAS career types (rule typology)",
            info={"Persons classified": n, "Weighted": False}, ledger=ledger)
        self.rules = rules
        self.alphabet = tuple(alphabet)
        self.counts = pd.Series(counts.to_numpy(), index=index, name="n")
        self.persons = persons
        self.weights = None
        # Labels and benchmark as RuleTypologyResults without them: the CPAS labels,
        # and no benchmark column unless the caller sets one.
        self.type_labels = {}
        self.benchmark = None
        self.benchmark_label = None
        self._session = session

    def persons_frame(self) -> pd.DataFrame:
        """The per-person figures as a DataFrame: collects one row per person (small data,
        audits, tests); on register data write :attr:`persons` with ``to_parquet`` instead."""
        return self._session.con.execute(self.persons)
