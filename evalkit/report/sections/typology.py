"""Career typology sections on sequences: rule typology, type membership, clustering.

Input: sequences with roles ``id``, ``period``, ``state`` whose states use the
CPAS alphabet (full-time job, part-time job, self-employed, activation, benefit,
integration income, other allowance, inactive: ``FT PT SE ACT UB RIS ALW INA``),
which the rules of :class:`evalkit.typology.rules.CareerRules` are written in.
A second input of persons (parameter ``persons``, roles ``id``, ``covariates``,
optional ``site``) gives types by site and the type-membership model.

- ``rule_typology``: the seven career types by explicit rules, shares with
  confidence intervals (beside the CPAS study's published shares when the parameter
  ``benchmark = "cpas_study"`` asks for them), types by site;
- ``type_membership``: multinomial logit of the type on person covariates
  (average marginal effects, table and figure);
- ``sequence_clustering``: optimal matching with transition-rate costs, CLARA
  medoids, quality of Ward partitions by k on a sample, clusters vs rule types.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from evalkit.report.elements import Figure, LedgerFlow, Section, Table
from evalkit.report.params import ParamSpec
from evalkit.report.sections import SectionSpec

LEVEL = ParamSpec(float, 0.95, "confidence level", minimum=0.5, maximum=0.999)
PERSONS = ParamSpec(str, "persons", "input of person covariates ('' for none)")
NBSP = "\u00a0"


def rule_fit(data, ctx):
    """The rule typology of ``data``, fitted once per report (shared by the sections)."""
    from evalkit.typology.rules import RuleTypology

    return ctx.shared(("rule_typology", data.name),
                      lambda: RuleTypology(data.contract, too_short="exclude").fit())


def _cpas_study_shares() -> dict[str, float]:
    from evalkit.typology.states import STUDY_SHARES

    return STUDY_SHARES


# Published shares a programme may show beside its own (parameter ``benchmark``).
BENCHMARKS = {"cpas_study": _cpas_study_shares}
BENCHMARK = ParamSpec(str, "", "published type shares shown beside the data's ('' for none)",
                      choices=("", *BENCHMARKS))


def _persons(ctx, params):
    name = params["persons"]
    return ctx.input(name) if name else None


def _rule_typology(data, ctx, params) -> Section:
    from evalkit.typology.plots import plot_type_shares
    from evalkit.typology.states import career_type_labels

    res = rule_fit(data, ctx)
    level = params["level"]
    frame = res.to_frame(level, lang=ctx.lang)[["label", "n", "share", "ci_lower", "ci_upper"]]
    percent = ["share", "ci_lower", "ci_upper"]
    benchmark_label = None
    if params["benchmark"]:
        # A study's published shares are shown only when the programme asks for them: a
        # user's own typology has no 'study' to compare with.
        frame["benchmark_share"] = pd.Series(BENCHMARKS[params["benchmark"]](), dtype=float)
        percent.append("benchmark_share")
        benchmark_label = ctx.text("benchmark_" + params["benchmark"])
    table = Table(frame.set_index("label").rename_axis(ctx.text("career_type")),
                  ctx.text("caption"), counts=["n"], percent=percent,
                  labels={"share": ctx.text("share"), "benchmark_share": ctx.text("study_share")})
    # The sentence and the figure show only what the table publishes: a share of the
    # (known) total is a count, so masked types are left out of both.
    _, mask = table.protected(ctx.threshold)
    masked = pd.Series(mask["n"].to_numpy(), index=frame.index)
    durable = frame.index[frame.index.isin(["sustainable", "sustainable_interrupted"])]
    section = Section(ctx.text("title"))
    if len(durable) and not masked[durable].any():
        sustainable = res.params[list(durable)].sum()
        section.add(ctx.text("intro", sustainable=ctx.percent(sustainable)))
        section.headline = ctx.text("headline", sustainable=ctx.percent(sustainable))
    else:
        section.add(ctx.text("intro_masked"))
    shown = frame.copy()
    shown.loc[masked.to_numpy(), ["n", "share", "ci_lower", "ci_upper"]] = np.nan
    section.add(table, Figure(plot_type_shares(shown, lang=ctx.lang,
                                               benchmark_label=benchmark_label),
                              ctx.text("figure")))
    persons = _persons(ctx, params) if params["persons"] in ctx.inputs else None
    if persons is not None and persons.has("site") and persons.role("site") in persons.frame:
        site, pid = persons.role("site"), persons.role("id")
        types = res.types[[res.id_name, "career_type"]].merge(
            persons.frame[[pid, site]], left_on=res.id_name, right_on=pid, how="left")
        labels = career_type_labels(ctx.lang)
        cross = pd.crosstab(types[site], types["career_type"].map(labels).astype(str))
        cross = cross[[t for t in labels.values() if t in cross.columns]]  # the study's order
        cross.index.name = ctx.variable(site)
        section.add(Table(cross, ctx.text("by_site", site=ctx.variable(site)),
                          counts=list(cross.columns)))
    if len(res.ledger):
        section.add(LedgerFlow(res.ledger))
    return section


RULE_TEXT = {
    "title": ("Typologie des carrières", "Career typology"),
    "intro": (
        "Chaque trajectoire est classée dans l'un des sept types de l'étude CPAS par des "
        "règles explicites (part des mois en emploi, statut dominant, interruptions). "
        "Carrières durables (interrompues ou non) : **{sustainable}**.",
        "Each career is classified into one of the seven types of the CPAS study by explicit "
        "rules (share of months in work, dominant status, interruptions). Sustainable careers "
        "(interrupted or not): **{sustainable}**.",
    ),
    "intro_masked": (
        "Chaque trajectoire est classée dans l'un des sept types de l'étude CPAS par des "
        "règles explicites. La part des carrières durables n'est pas publiée (effectifs trop "
        "petits).",
        "Each career is classified into one of the seven types of the CPAS study by explicit "
        "rules. The share of sustainable careers is not published (counts too small)."),
    "headline": ("carrières durables (interrompues ou non)\u00a0: **{sustainable}**",
                 "sustainable careers (interrupted or not): **{sustainable}**"),
    "career_type": ("Type de carrière", "Career type"),
    "caption": ("Types de carrière", "Career types"),
    "share": ("Part", "Share"),
    "study_share": ("Part dans l'étude", "Study share"),
    "benchmark_cpas_study": ("Étude CPAS", "CPAS study"),
    "figure": ("Parts des types de carrière", "Shares of career types"),
    "by_site": ("Types de carrière par {site}", "Career types by {site}"),
}


def _membership(data, ctx, params) -> Section:
    from evalkit.typology.explain import TypeMembershipModel
    from evalkit.typology.states import career_type_labels

    persons = ctx.input(params["persons"] or "persons")
    covariates = list(persons.role("covariates"))
    res = rule_fit(data, ctx)
    if (res.counts < ctx.threshold).any():
        # Naming the type, or saying the model failed for a small type, would tell more
        # than the masked type table does.
        return Section(ctx.text("title")).add(
            ctx.text("masked", threshold=ctx.number(ctx.threshold)))
    fit = TypeMembershipModel(res, persons.frame, covariates=covariates,
                              id=persons.role("id")).fit()
    level = params["level"]
    ame = fit.marginal_effects(level)
    # Types as columns, characteristics as rows, in percentage points: readable at a glance;
    # the figure shows the intervals.
    points = (100 * ame["ame"]).unstack("career_type")
    terms = ame.index.get_level_values(-1).unique()
    points = points.reindex([t for t in terms if t in points.index])  # the model's order
    type_names = career_type_labels(ctx.lang)
    points = points[[t for t in type_names if t in points.columns]]  # the study's order
    points.columns = [type_names[c] for c in points.columns]
    points.index = [ctx.variable(term) for term in points.index]
    points.index.name = ctx.text("characteristic")
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro"))
    section.add(
        Table(points, ctx.text("caption"), decimals=1,
              note=_reference_note(terms, persons.frame, covariates, ctx)),
        Figure(fit.plot(level, types=[t for t in type_names if t in fit.types],
                        type_names=type_names,
                        term_labels={term: ctx.variable(term) for term in terms},
                        xlabel=ctx.text("xlabel")), ctx.text("figure")),
    )
    return section


def _reference_note(terms, persons: pd.DataFrame, covariates, ctx) -> str:
    """"Reference levels: women, 18–25 years, ..." -- the levels the model leaves out."""
    shown: dict[str, set] = {}
    for term in map(str, terms):
        match = re.match(r"^(.+)\[(?:T\.)?(.*)\]$", term)
        if match:
            shown.setdefault(match[1], set()).add(match[2])
    references = []
    for column in covariates:
        if column not in shown or column not in persons.columns:
            continue
        left_out = sorted(set(persons[column].dropna().astype(str)) - shown[column])
        if len(left_out) == 1:
            references.append(ctx.variable(f"{column}[{left_out[0]}]"))
    if not references:
        return ""
    return ctx.text("reference", levels=ctx.choose(" ; ", "; ").join(references))


MEMBERSHIP_TEXT = {
    "title": ("Qui suit quel type de carrière ?", "Who follows which career type?"),
    "intro": (
        "Logit multinomial du type de carrière sur les caractéristiques des personnes. "
        "Effets marginaux moyens : variation de la probabilité de chaque type (en points) "
        "par rapport à la modalité de référence.",
        "Multinomial logit of career type on person characteristics. Average marginal "
        "effects: change in the probability of each type (in points) relative to the "
        "reference level.",
    ),
    "characteristic": ("Caractéristique", "Characteristic"),
    "masked": ("Le modèle n'est pas présenté : au moins un type compte moins de {threshold} "
               "personnes (seuil de diffusion).",
               "The model is not shown: at least one type has fewer than {threshold} persons "
               "(the disclosure threshold)."),
    "caption": ("Effets marginaux moyens (points de pourcentage)",
                "Average marginal effects (percentage points)"),
    "reference": (f"Modalités de référence{NBSP}: {{levels}}.", "Reference levels: {levels}."),
    "xlabel": ("effet marginal moyen (points de pourcentage)",
               "average marginal effect (percentage points)"),
    "figure": ("Effets marginaux moyens (points de pourcentage), avec intervalles de confiance",
               "Average marginal effects (percentage points), with confidence intervals"),
}


def _clustering(data, ctx, params) -> Section:
    from evalkit.typology.cluster_quality import compare_partitions
    from evalkit.typology.clustering import clara
    from evalkit.typology.states import career_type_labels

    seq = data.contract
    k = params["n_clusters"]
    partition = clara(seq, k, method="OM", sm="TRATE", seed=ctx.seed)
    quality = _quality_by_k(seq, params["quality_sample"], ctx.seed)
    res = rule_fit(data, ctx)
    types = pd.Series(res.types["career_type"].to_numpy(), index=res.types[res.id_name])
    rule = types.reindex(seq.ids).map(career_type_labels(ctx.lang)).astype(str).to_numpy()
    frame = pd.DataFrame({"cluster": partition.labels, "type": rule})
    sizes = frame.groupby("cluster").size()
    majority = frame.groupby("cluster")["type"].agg(lambda t: t.value_counts().index[0])
    majority_n = frame.groupby("cluster")["type"].agg(lambda t: t.value_counts().iloc[0])
    # The share of the majority type per cluster is not shown: with the cluster size it
    # gives the count of the other types, often under the disclosure threshold.
    table = pd.DataFrame({"n": sizes, "majority": majority})
    table.index = [ctx.text("cluster_n", cluster=c) for c in table.index]
    table.index.name = ctx.text("cluster")
    agreement = majority_n.sum() / sizes.sum()
    ari = compare_partitions(rule, partition.labels).ari
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro", k=ctx.number(k), agreement=ctx.percent(agreement)))
    section.add(ctx.text("ari", ari=ctx.number(ari, 2)))
    if quality is not None:
        choice, n_sample = quality
        asw = choice.table.loc[choice.k, "ASW"]
        chosen_asw = choice.table.loc[k, "ASW"] if k in choice.table.index else float("nan")
        # Say which k the data favour AND which k the report uses, from the same table.
        section.add(ctx.text("quality", n_sample=ctx.number(n_sample), best_k=ctx.number(choice.k),
                             best_asw=ctx.number(asw, 2), k=ctx.number(k),
                             k_asw=ctx.number(chosen_asw, 2)))
        shown = choice.table[[c for c in ("ASW", "PBC", "HC", "R2") if c in choice.table]]
        shown = shown.rename_axis(ctx.text("n_clusters"))
        section.add(Table(shown, ctx.text("quality_caption"), decimals=3))
    section.add(Table(table, ctx.text("caption"), counts=["n"],
                      labels={"majority": ctx.text("majority")}))
    return section


def _quality_by_k(seq, sample_size: int, seed: int):
    """Quality indices of Ward partitions (k = 2..10) on a random sample of careers.

    The full distance matrix grows as n^2; a random sample is enough to see
    whether the data support a given number of clusters.
    """
    from evalkit.typology.cluster_quality import choose_k, quality_range
    from evalkit.typology.clustering import ward
    from evalkit.typology.distances import sequence_distances

    if sample_size < 20:
        return None
    n = seq.matrix.shape[0]
    rows = np.sort(np.random.default_rng(seed).choice(n, min(sample_size, n), replace=False))
    distances = sequence_distances(seq.matrix[rows], method="OM", sm="TRATE",
                                   alphabet=seq.alphabet)
    return choose_k(quality_range(distances, ward(distances))), len(rows)


CLUSTER_TEXT = {
    "title": ("Typologie par classification", "Typology by clustering"),
    "intro": (
        "Les trajectoires sont comparées par appariement optimal (coûts de substitution "
        "issus des taux de transition) et regroupées en {k} classes autour de trajectoires "
        "types (CLARA). Part des personnes dont la classe a pour type majoritaire leur propre "
        "type : {agreement}.",
        "Careers are compared by optimal matching (substitution costs from transition "
        "rates) and grouped into {k} clusters around medoid careers (CLARA). Share of "
        "people whose cluster's majority type is their own type: {agreement}.",
    ),
    "ari": (
        "Indice de Rand ajusté entre classes et types : {ari} (1 : partitions identiques, "
        "0 : indépendantes).",
        "Adjusted Rand index between clusters and types: {ari} (1: identical partitions, "
        "0: independent).",
    ),
    "quality": (
        "Combien de classes ? Sur un échantillon aléatoire de {n_sample} trajectoires "
        "(classification de Ward), la largeur moyenne de silhouette (ASW) est maximale pour "
        "k = {best_k} (ASW {best_asw}) ; ce rapport utilise k = {k} (ASW {k_asw}). Au-delà "
        "de 0,5 la structure est raisonnable (Kaufman et Rousseeuw 1990).",
        "How many clusters? On a random sample of {n_sample} careers (Ward clustering), the "
        "average silhouette width (ASW) is highest at k = {best_k} (ASW {best_asw}); this "
        "report uses k = {k} (ASW {k_asw}). Above 0.5 the structure is reasonable "
        "(Kaufman & Rousseeuw 1990).",
    ),
    "n_clusters": ("Nombre de classes", "Number of clusters"),
    "quality_caption": ("Qualité de la partition selon le nombre de classes",
                        "Partition quality by number of clusters"),
    "cluster": ("Classe", "Cluster"),
    "cluster_n": ("Classe {cluster}", "Cluster {cluster}"),
    "caption": ("Classes et type de carrière majoritaire",
                "Clusters and their majority career type"),
    "majority": ("Type majoritaire (règles)", "Majority type (rules)"),
}

ROLES = ("id", "period", "state")
SECTIONS = {
    "rule_typology": SectionSpec(
        "rule_typology", "sequences", _rule_typology, roles=ROLES,
        parameters={"persons": PERSONS, "level": LEVEL, "benchmark": BENCHMARK},
        text=RULE_TEXT, doc="the seven CPAS career types by rule, types by site"),
    "type_membership": SectionSpec(
        "type_membership", "sequences", _membership, roles=ROLES,
        parameters={"persons": PERSONS, "level": LEVEL}, text=MEMBERSHIP_TEXT,
        doc="multinomial logit of the career type on person covariates"),
    "sequence_clustering": SectionSpec(
        "sequence_clustering", "sequences", _clustering, roles=ROLES,
        parameters={
            "n_clusters": ParamSpec(int, 7, "clusters of the data-driven typology", minimum=2),
            "quality_sample": ParamSpec(int, 600, "careers sampled to assess k (0: skip)",
                                        minimum=0),
        },
        text=CLUSTER_TEXT, doc="OM/TRATE distances, CLARA clusters vs rule types"),
}
