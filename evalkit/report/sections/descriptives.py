"""Descriptive sections, one per contract: panel roll-out, survey waves, sequences.

- ``panel_descriptives`` (roles ``id``, ``period``, ``outcome``, ``first_treated``;
  optional ``cluster``, ``period_label``): units per treatment cohort, outcome
  by period and cohort, exclusion flow;
- ``survey_descriptives`` (roles ``id``, ``site``, ``period``, ``group``,
  ``outcomes``): respondents by site and wave, outcome shares by group and
  wave, exclusion flow;
- ``sequence_descriptives`` (roles ``id``, ``period``, ``state``): state
  distribution period by period, mean time in each state, exclusion flow.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from evalkit.report.elements import Figure, LedgerFlow, Section, Table
from evalkit.report.sections import SectionSpec
from evalkit.report.sections.staggered_did import cohort_name, period_labels


def _panel(data, ctx, params) -> Section:
    contract = data.contract
    unit, period, first = data.role("id"), data.role("period"), data.role("first_treated")
    outcome, cluster = data.role("outcome"), data.role("cluster", None)
    frame = contract.data
    labels = period_labels(data, ctx.lang)
    units = frame.drop_duplicates(unit).sort_values(first)  # cohorts in time order, never last
    cohort = units[first].map(lambda g: cohort_name(g, labels, ctx))
    grouped = units.assign(cohort=cohort).groupby("cohort", sort=False)
    table = pd.DataFrame({
        "n": grouped.size(),
        **({"clusters": grouped[cluster].nunique()} if cluster else {}),
    }).reset_index()
    cohort_table = Table(table.rename(columns={"cohort": ctx.text("cohort_start"),
                                               "clusters": ctx.text("clusters")}),
                         ctx.text("cohort_caption"), counts=["n"])
    # The figure draws only the cohorts the table publishes: a rate of a cohort of 4 units
    # moves in steps of 1/4 and gives its size away.
    _, mask = cohort_table.protected(ctx.threshold)
    published = set(table.loc[~mask["n"].to_numpy(), "cohort"])
    rates = (
        frame.sort_values(first)
        .assign(cohort=lambda d: d[first].map(lambda g: cohort_name(g, labels, ctx)))
        .groupby(["cohort", period], sort=False)[outcome].mean().unstack("cohort")
        .sort_index()
    )
    rates = rates[[c for c in rates.columns if c in published]]
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for name in rates.columns:
        ax.plot(rates.index, rates[name], marker="o", ms=3, label=name)
    ax.set_xlabel(ctx.text("period"))
    ax.set_ylabel(ctx.variable(outcome))
    if labels:
        ticks = sorted(labels)[:: max(1, len(labels) // 8)]
        ax.set_xticks(ticks, [labels[t] for t in ticks])
    # Beside the axes, never over the lines.
    ax.legend(title=ctx.text("cohort"), fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(alpha=0.3)
    fig.tight_layout()

    section = Section(ctx.text("title"))
    section.add(ctx.text("intro", n_units=ctx.number(contract.n_units),
                         n_periods=ctx.number(len(contract.periods))))
    section.add(
        cohort_table,
        Figure(fig, ctx.text("figure", outcome=ctx.variable(outcome))),
        LedgerFlow(contract.ledger),
    )
    return section


PANEL_TEXT = {
    "title": ("Données et déploiement", "Data and roll-out"),
    "intro": ("Le panel suit {n_units} unités sur {n_periods} périodes. Chaque cohorte "
              "regroupe les unités dont le traitement commence à la même période.",
              "The panel follows {n_units} units over {n_periods} periods. Each cohort groups "
              "the units whose treatment starts in the same period."),
    "cohort_start": ("Début du traitement", "Treatment start"),
    "clusters": ("Grappes", "Clusters"),
    "never_treated": ("Jamais traité", "Never treated"),
    "period": ("Période", "Period"),
    "cohort": ("Cohorte", "Cohort"),
    "cohort_caption": ("Cohortes de déploiement", "Roll-out cohorts"),
    "figure": ("{outcome} par cohorte", "{outcome} by cohort"),
}


def _survey(data, ctx, params) -> Section:
    site, wave, group = data.role("site"), data.role("period"), data.role("group")
    outcomes = list(data.role("outcomes"))
    contract = data.contract
    # The contract keeps its own columns; the kept respondents index the full survey.
    kept = data.frame[data.frame[data.role("id")].isin(contract.data[contract.id])]
    counts = kept.groupby([site, wave]).size().unstack(wave, fill_value=0)
    counts.columns = [ctx.text("wave_n", wave=w) for w in counts.columns]
    counts.index.name = ctx.variable(site)
    status = kept[group].map({True: ctx.text("treated"), False: ctx.text("comparison")})
    rates = kept.assign(status=status).groupby(["status", wave])[outcomes].mean().reset_index()
    rates.insert(2, "n", kept.assign(status=status).groupby(["status", wave]).size().to_numpy())
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro", n=ctx.number(len(kept)),
                         n_sites=ctx.number(kept[site].nunique()),
                         n_waves=ctx.number(kept[wave].nunique())))
    section.add(
        Table(counts, ctx.text("count_caption"), counts=list(counts.columns)),
        Table(rates, ctx.text("rate_caption"), counts=["n"], percent=outcomes,
              shares=dict.fromkeys(outcomes, "n"),
              labels={"status": ctx.text("status"), wave: ctx.variable(wave),
                      **{o: ctx.variable(o) for o in outcomes}}),
        LedgerFlow(contract.ledger),
    )
    return section


SURVEY_TEXT = {
    "title": ("Données d'enquête", "Survey data"),
    "intro": ("{n} personnes interrogées sur {n_sites} sites, en {n_waves} vagues.",
              "{n} people interviewed at {n_sites} sites, in {n_waves} waves."),
    "wave_n": ("Vague {wave}", "Wave {wave}"),
    "treated": ("Traité", "Treated"),
    "comparison": ("Comparaison", "Comparison"),
    "status": ("Statut", "Status"),
    "count_caption": ("Personnes interrogées par site et vague", "Respondents by site and wave"),
    "rate_caption": ("Part des personnes concernées, par groupe et vague",
                     "Share of respondents, by group and wave"),
}


def _sequences(data, ctx, params) -> Section:
    from evalkit.typology.descriptives import mean_time_in_state, state_distribution
    from evalkit.typology.plots import plot_chronogram

    seq = data.contract
    state = data.role("state")
    # The programme's value labels; else the CPAS states' own names when that is the alphabet.
    known = {}
    if data.options.get("alphabet") == "cpas":
        from evalkit.typology.states import state_labels

        known = state_labels(ctx.lang)
    labels = {s: ctx.labels.value(state, s, ctx.lang) if (state, str(s)) in ctx.labels.values
              else known.get(s, str(s)) for s in seq.alphabet}
    distribution = state_distribution(seq)
    months = mean_time_in_state(seq).rename(index=labels)
    months.index.name = ctx.text("state")
    months.columns = [ctx.text("mean_periods")]
    n, t = seq.matrix.shape
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro", n=ctx.number(n), n_periods=ctx.number(t)))
    section.add(
        Figure(plot_chronogram(distribution, labels=labels, lang=ctx.lang, legend_outside=True,
                               xlabel=ctx.text("xlabel")), ctx.text("figure")),
        Table(months, ctx.text("caption"), decimals=1),
        LedgerFlow(seq.ledger),
    )
    return section


SEQUENCE_TEXT = {
    "title": ("Trajectoires observées", "Observed trajectories"),
    "intro": ("{n} personnes suivies période par période pendant {n_periods} périodes.",
              "{n} people followed period by period for {n_periods} periods."),
    "state": ("Situation", "State"),
    "mean_periods": ("Périodes en moyenne", "Mean periods"),
    "xlabel": ("Période", "Period"),
    "figure": ("Situation des personnes période par période",
               "Situation of people period by period"),
    "caption": ("Durée moyenne passée dans chaque situation", "Mean time spent in each state"),
}

SECTIONS = {
    "panel_descriptives": SectionSpec(
        "panel_descriptives", "panel", _panel, roles=("id", "period", "outcome", "first_treated"),
        optional_roles=("cluster", "period_label"), text=PANEL_TEXT,
        doc="units per treatment cohort, outcome by period and cohort, exclusion flow"),
    "survey_descriptives": SectionSpec(
        "survey_descriptives", "persons", _survey,
        roles=("id", "site", "period", "group", "outcomes"), text=SURVEY_TEXT,
        doc="respondents by site and wave, outcome shares by group and wave, exclusion flow"),
    "sequence_descriptives": SectionSpec(
        "sequence_descriptives", "sequences", _sequences, roles=("id", "period", "state"),
        text=SEQUENCE_TEXT, doc="state distribution, mean time per state, exclusion flow"),
}


def _table(data, ctx, params) -> Section:
    frame = data.frame
    hidden = {c for r in ("id", "source", "target") for c in [data.roles.get(r)] if c}
    rows = []
    for column in frame.columns:
        if column in hidden:
            continue  # identifiers are never described (their values could be shown)
        values = frame[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        rows.append({
            "variable": ctx.variable(column),
            "kind": ctx.text("numeric" if numeric else "categorical"),
            "filled": values.notna().mean(),
            "distinct": values.nunique(),
            "mean": values.mean() if numeric else float("nan"),
        })
    table = pd.DataFrame(rows).set_index("variable").rename_axis(ctx.text("variable"))
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro", n_rows=ctx.number(len(frame)),
                         n_columns=ctx.number(len(table))))
    section.add(Table(table, ctx.text("caption"), percent=["filled"], decimals=2,
                      labels={"kind": ctx.text("kind"), "filled": ctx.text("filled"),
                              "distinct": ctx.text("distinct"), "mean": ctx.text("mean")}))
    return section


TABLE_TEXT = {
    "title": ("Description des données", "Data description"),
    "intro": ("Le fichier compte {n_rows} lignes ; {n_columns} variables sont décrites "
              "(les identifiants ne le sont pas).",
              "The file has {n_rows} rows; {n_columns} variables are described (identifiers "
              "are not)."),
    "variable": ("Variable", "Variable"),
    "kind": ("Type", "Type"),
    "numeric": ("numérique", "numeric"),
    "categorical": ("catégorielle", "categorical"),
    "filled": ("Renseignée", "Filled in"),
    "distinct": ("Valeurs distinctes", "Distinct values"),
    "mean": ("Moyenne", "Mean"),
    "caption": ("Variables du fichier", "Variables of the file"),
}

SECTIONS["table_descriptives"] = SectionSpec(
    "table_descriptives", "table", _table, optional_roles=("id",), text=TABLE_TEXT,
    doc="every variable of any table: type, share filled in, distinct values, mean")
