"""Report section of the CPAS careers study (article 60§7): career typology.

Sub-sections (``analyses``):

- ``descriptives``: monthly state distribution (chronogram), mean months per
  state, exclusion flow of the sequences;
- ``rule_typology``: the seven career types by the documented rules, shares
  with confidence intervals beside the study's shares, types by CPAS;
- ``membership``: multinomial logit of the type on person covariates
  (average marginal effects);
- ``clustering``: data-driven typology (optimal matching with transition-rate
  costs, CLARA medoids) cross-tabulated with the rule typology.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.report.elements import Figure, LedgerFlow, Section, Table
from evalkit.report.guarded import build_analyses
from evalkit.report.i18n import choose, format_number, format_percent
from evalkit.report.labels import variable_label
from evalkit.report.programme import InputSpec, ParamSpec
from evalkit.report.programme import PythonProgramme as ProgrammeSpec

NAME = "cpas_careers"
COVARIATES = ("sex", "age_band", "education", "nationality_group")


def _sequences(tables, params):
    from evalkit.data import Sequences
    from evalkit.typology.states import CPAS_ALPHABET

    return Sequences(
        tables["sequences"], id=params["person_id"], period=params["period"],
        state=params["state"], alphabet=list(CPAS_ALPHABET), source=f"{NAME}/sequences",
    )


def _descriptives(seq, lang: str) -> Section:
    from evalkit.typology.descriptives import mean_time_in_state, state_distribution
    from evalkit.typology.plots import plot_chronogram
    from evalkit.typology.states import state_labels

    labels = state_labels(lang)
    distribution = state_distribution(seq)
    months = mean_time_in_state(seq)
    months = months.rename(index=labels)
    months.index.name = choose(lang, "Situation", "State")
    months.columns = [choose(lang, "Mois en moyenne", "Mean months")]
    n, t = seq.matrix.shape
    section = Section(choose(lang, "Trajectoires observées", "Observed trajectories"))
    section.add(choose(
        lang,
        f"{format_number(n, lang)} personnes sorties d'un contrat article 60 §7, suivies "
        f"mois par mois pendant {t} mois.",
        f"{format_number(n, lang)} people leaving an article 60§7 contract, followed month "
        f"by month for {t} months.",
    ))
    section.add(
        Figure(plot_chronogram(distribution, labels=labels, lang=lang, legend_outside=True,
                               xlabel=choose(lang, "Mois après la fin du contrat",
                                             "Months after the contract ended")),
               choose(lang, "Situation des personnes mois par mois",
                      "Situation of people month by month")),
        Table(months, choose(lang, "Durée moyenne passée dans chaque situation",
                             "Mean time spent in each state"), decimals=1),
        LedgerFlow(seq.ledger),
    )
    return section


def _rule_typology(seq, persons: pd.DataFrame | None, params, lang: str, threshold: int):
    from evalkit.typology.plots import plot_type_shares
    from evalkit.typology.rules import RuleTypology
    from evalkit.typology.states import STUDY_SHARES, career_type_labels

    res = RuleTypology(seq, too_short="exclude", benchmark=STUDY_SHARES,
                       benchmark_label=choose(lang, "Étude CPAS", "CPAS study")).fit()
    frame = res.to_frame(params["level"], lang=lang)[
        ["label", "n", "share", "ci_lower", "ci_upper", "benchmark_share"]
    ]
    table = Table(frame.set_index("label").rename_axis(choose(lang, "Type de carrière",
                                                              "Career type")),
                  choose(lang, "Types de carrière", "Career types"),
                  counts=["n"], percent=["share", "ci_lower", "ci_upper", "benchmark_share"],
                  labels={"share": choose(lang, "Part", "Share"),
                          "benchmark_share": choose(lang, "Part dans l'étude", "Study share")})
    # The sentence and the figure show only what the table publishes: a share of the
    # (known) total is a count, so masked types are left out of both.
    _, mask = table.protected(threshold)
    masked = pd.Series(mask["n"].to_numpy(), index=frame.index)
    durable = frame.index[frame.index.isin(["sustainable", "sustainable_interrupted"])]
    section = Section(choose(lang, "Typologie des carrières", "Career typology"))
    intro = choose(
        lang,
        "Chaque trajectoire est classée dans l'un des sept types de l'étude CPAS par des "
        "règles explicites (part des mois en emploi, statut dominant, interruptions). ",
        "Each career is classified into one of the seven types of the CPAS study by explicit "
        "rules (share of months in work, dominant status, interruptions). ")
    if len(durable) and not masked[durable].any():
        sustainable = res.params[list(durable)].sum()
        intro += choose(
            lang,
            f"Carrières durables (interrompues ou non) : **{format_percent(sustainable, lang)}**.",
            f"Sustainable careers (interrupted or not): **{format_percent(sustainable, lang)}**.")
    else:
        intro += choose(
            lang, "La part des carrières durables n'est pas publiée (effectifs trop petits).",
            "The share of sustainable careers is not published (counts too small).")
    section.add(intro)
    shown = frame.copy()
    shown.loc[masked.to_numpy(), ["n", "share", "ci_lower", "ci_upper"]] = np.nan
    section.add(
        table,
        Figure(plot_type_shares(shown, lang=lang, benchmark_label=res.benchmark_label),
               choose(lang, "Parts des types de carrière",
                                                          "Shares of career types")),
    )
    site = params["site"]
    if persons is not None and site and site in persons.columns:
        types = res.types[[res.id_name, "career_type"]].merge(
            persons[[params["person_id"], site]], left_on=res.id_name,
            right_on=params["person_id"], how="left")
        labels = career_type_labels(lang)
        cross = pd.crosstab(types[site], types["career_type"].map(labels).astype(str))
        cross = cross[[t for t in labels.values() if t in cross.columns]]  # the study's order
        cross.index.name = "CPAS"
        section.add(Table(cross, choose(lang, "Types de carrière par CPAS",
                                        "Career types by CPAS"), counts=list(cross.columns)))
    if len(res.ledger):
        section.add(LedgerFlow(res.ledger))
    return section, res


def _membership(res, persons: pd.DataFrame, params, lang: str, threshold: int) -> Section:
    from evalkit.typology.explain import TypeMembershipModel
    from evalkit.typology.states import career_type_labels

    if (res.counts < threshold).any():
        # Naming the type, or saying the model failed for a type "with fewer than 2
        # persons", would tell more than the masked type table does.
        section = Section(choose(lang, "Qui suit quel type de carrière ?",
                                 "Who follows which career type?"))
        return section.add(choose(
            lang,
            f"Le modèle n'est pas présenté : au moins un type compte moins de {threshold} "
            "personnes (seuil de diffusion).",
            f"The model is not shown: at least one type has fewer than {threshold} persons "
            "(the disclosure threshold)."))
    model = TypeMembershipModel(res, persons, covariates=list(params["covariates"]),
                                id=params["person_id"])
    fit = model.fit()
    ame = fit.marginal_effects(params["level"])
    # Types as columns, characteristics as rows, in percentage points: readable at a glance;
    # the figure shows the intervals.
    points = (100 * ame["ame"]).unstack("career_type")
    terms = ame.index.get_level_values(-1).unique()
    points = points.reindex([t for t in terms if t in points.index])  # the model's order
    type_names = career_type_labels(lang)
    points = points[[t for t in type_names if t in points.columns]]  # the study's order
    points.columns = [type_names[c] for c in points.columns]
    points.index = [variable_label(term, lang) for term in points.index]
    points.index.name = choose(lang, "Caractéristique", "Characteristic")
    section = Section(choose(lang, "Qui suit quel type de carrière ?",
                             "Who follows which career type?"))
    section.add(choose(
        lang,
        "Logit multinomial du type de carrière sur les caractéristiques des personnes. "
        "Effets marginaux moyens : variation de la probabilité de chaque type (en points) "
        "par rapport à la modalité de référence.",
        "Multinomial logit of career type on person characteristics. Average marginal "
        "effects: change in the probability of each type (in points) relative to the "
        "reference level.",
    ))
    section.add(
        Table(points, choose(lang, "Effets marginaux moyens (points de pourcentage)",
                             "Average marginal effects (percentage points)"), decimals=1,
              note=_reference_note(ame.index.get_level_values(-1).unique(), persons,
                                   params["covariates"], lang)),
        Figure(fit.plot(params["level"], types=[t for t in type_names if t in fit.types],
                        type_names=type_names,
                        term_labels={term: variable_label(term, lang) for term in terms},
                        xlabel=choose(lang, "effet marginal moyen (points de pourcentage)",
                                      "average marginal effect (percentage points)")),
               choose(lang, "Effets marginaux moyens (points de pourcentage), avec intervalles "
                      "de confiance", "Average marginal effects (percentage points), with "
                      "confidence intervals")),
    )
    return section


def _clustering(seq, res, params, lang: str, seed: int) -> Section:
    from evalkit.typology.clustering import clara
    from evalkit.typology.states import career_type_labels

    k = params["n_clusters"]
    partition = clara(seq, k, method="OM", sm="TRATE", seed=seed)
    quality = _quality_by_k(seq, params["quality_sample"], seed)
    types = pd.Series(res.types["career_type"].to_numpy(), index=res.types[res.id_name])
    labels = career_type_labels(lang)
    rule = types.reindex(seq.ids).map(labels).astype(str).to_numpy()
    frame = pd.DataFrame({"cluster": partition.labels, "type": rule})
    sizes = frame.groupby("cluster").size()
    majority = frame.groupby("cluster")["type"].agg(lambda t: t.value_counts().index[0])
    majority_n = frame.groupby("cluster")["type"].agg(lambda t: t.value_counts().iloc[0])
    # The share of the majority type per cluster is not shown: with the cluster size it
    # gives the count of the other types, often under the disclosure threshold.
    table = pd.DataFrame({"n": sizes, "majority": majority})
    table.index = [f"{choose(lang, 'Classe', 'Cluster')} {c}" for c in table.index]
    table.index.name = choose(lang, "Classe", "Cluster")
    agreement = majority_n.sum() / sizes.sum()
    from evalkit.typology.cluster_quality import compare_partitions

    ari = compare_partitions(rule, partition.labels).ari
    section = Section(choose(lang, "Typologie par classification", "Typology by clustering"))
    section.add(choose(
        lang,
        f"Les trajectoires sont comparées par appariement optimal (coûts de substitution "
        f"issus des taux de transition) et regroupées en {k} classes autour de trajectoires "
        "types (CLARA). Part des personnes dont la classe a pour type majoritaire leur propre "
        f"type : {format_percent(agreement, lang)}.",
        f"Careers are compared by optimal matching (substitution costs from transition "
        f"rates) and grouped into {k} clusters around medoid careers (CLARA). Share of "
        "people whose cluster's majority type is their own type: "
        f"{format_percent(agreement, lang)}.",
    ))
    section.add(choose(
        lang,
        f"Indice de Rand ajusté entre classes et types : {format_number(ari, lang, 2)} "
        "(1 : partitions identiques, 0 : indépendantes).",
        f"Adjusted Rand index between clusters and types: {format_number(ari, lang, 2)} "
        "(1: identical partitions, 0: independent).",
    ))
    if quality is not None:
        choice, n_sample = quality
        asw = choice.table.loc[choice.k, "ASW"]
        section.add(choose(
            lang,
            f"Combien de classes ? Sur un échantillon aléatoire de {format_number(n_sample, lang)} "
            "trajectoires (classification de Ward), la largeur moyenne de silhouette (ASW) est "
            f"maximale pour k = {choice.k} (ASW {format_number(asw, lang, 2)} ; au-delà de "
            "0,5 la structure est raisonnable, Kaufman et Rousseeuw 1990).",
            f"How many clusters? On a random sample of {format_number(n_sample, lang)} careers "
            "(Ward clustering), the average silhouette width (ASW) is highest at "
            f"k = {choice.k} (ASW {format_number(asw, lang, 2)}; above 0.5 the structure is "
            "reasonable, Kaufman & Rousseeuw 1990).",
        ))
        shown = choice.table[[c for c in ("ASW", "PBC", "HC", "R2") if c in choice.table]]
        shown = shown.rename_axis(choose(lang, "Nombre de classes", "Number of clusters"))
        section.add(Table(shown, choose(lang, "Qualité de la partition selon le nombre de classes",
                                        "Partition quality by number of clusters"),
                          decimals=3))
    section.add(Table(table, choose(lang, "Classes et type de carrière majoritaire",
                                    "Clusters and their majority career type"),
                      counts=["n"],
                      labels={"majority": choose(lang, "Type majoritaire (règles)",
                                                 "Majority type (rules)")}))
    return section


def _reference_note(terms, persons: pd.DataFrame, covariates, lang: str) -> str:
    """"Reference levels: women, 18–25 years, ..." -- the levels the model leaves out."""
    import re

    shown = {}
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
            references.append(variable_label(f"{column}[{left_out[0]}]", lang))
    if not references:
        return ""
    return choose(lang, "Modalités de référence\u00a0: ", "Reference levels: ") + choose(
        lang, " ; ", "; ").join(references) + "."


def _quality_by_k(seq, sample_size: int, seed: int):
    """Quality indices of Ward partitions (k = 2..10) on a random sample of careers.

    The full distance matrix grows as n^2; a random sample is enough to see
    whether the data support a given number of clusters.
    """
    import numpy as np

    from evalkit.typology.cluster_quality import choose_k, quality_range
    from evalkit.typology.clustering import ward
    from evalkit.typology.distances import sequence_distances

    if sample_size < 20:
        return None
    n = seq.matrix.shape[0]
    rows = np.sort(np.random.default_rng(seed).choice(n, min(sample_size, n), replace=False))
    distances = sequence_distances(seq.matrix[rows], method="OM", sm="TRATE", alphabet=seq.alphabet)
    return choose_k(quality_range(distances, ward(distances))), len(rows)


def build(tables, *, analyses, params, lang: str, seed: int, threshold: int = 11) -> Section:
    """The CPAS careers section: one guarded sub-section per analysis."""
    section = Section(choose(lang, "Carrières après un contrat article 60 §7",
                             "Careers after an article 60§7 contract"))
    section.add(choose(
        lang,
        "Que deviennent les personnes mises à l'emploi par un CPAS (article 60 §7) à la fin de "
        "leur contrat ? Leurs trajectoires mensuelles sont décrites puis classées en types "
        "de carrière.",
        "What becomes of people employed through a CPAS (article 60§7) when their contract "
        "ends? Their monthly trajectories are described, then classified into career types.",
    ))
    persons = tables.get("persons")
    state: dict = {}

    def sequences():
        if "seq" not in state:
            state["seq"] = _sequences(tables, params)
        return state["seq"]

    def typology():
        if "res" not in state:
            state["section"], state["res"] = _rule_typology(sequences(), persons, params, lang,
                                                            threshold)
        return state["res"]

    def needs_persons():
        if persons is None:
            from evalkit.errors import ConfigError

            raise ConfigError("this analysis needs the input table 'persons' (add it under inputs)")
        return persons

    parts = {
        "descriptives": (choose(lang, "Trajectoires observées", "Observed trajectories"),
                         lambda: _descriptives(sequences(), lang)),
        "rule_typology": (choose(lang, "Typologie des carrières", "Career typology"),
                          lambda: (typology(), state["section"])[1]),
        "membership": (choose(lang, "Qui suit quel type de carrière ?",
                              "Who follows which career type?"),
                       lambda: _membership(typology(), needs_persons(), params, lang,
                                           threshold)),
        "clustering": (choose(lang, "Typologie par classification", "Typology by clustering"),
                       lambda: _clustering(sequences(), typology(), params, lang, seed)),
    }
    return build_analyses(section, parts, analyses, prefix=NAME)


def generate(seed: int) -> dict[str, pd.DataFrame]:
    """Small synthetic inputs (1,000 persons x 36 months: fewer make the type logit fragile)."""
    from evalkit.datasets import cpas_careers

    return dict(cpas_careers.generate(seed=seed, n_persons=1000, n_months=36).tables)


PROGRAMME = ProgrammeSpec(
    name=NAME,
    title={"fr": "Carrières après un contrat article 60 §7",
           "en": "Careers after an article 60§7 contract"},
    inputs={
        "sequences": InputSpec("person x month states (cpas_careers_sequences.csv)",
                               roles={"id": "person_id"}),
        "persons": InputSpec("person covariates (cpas_careers_persons.csv)", required=False,
                             roles={"id": "person_id"}),
    },
    analyses={
        "descriptives": "chronogram, mean time per state, exclusion flow",
        "rule_typology": "the seven CPAS career types by rule",
        "membership": "multinomial logit of type on covariates",
        "clustering": "OM/TRATE distances, CLARA clusters vs rule types",
    },
    parameters={
        "person_id": ParamSpec(str, "person_id", "person identifier column"),
        "period": ParamSpec(str, "month", "month column of the sequences"),
        "state": ParamSpec(str, "state", "state column of the sequences"),
        "site": ParamSpec(str, "cpas", "persons column for types by site ('' for none)"),
        "covariates": ParamSpec("list[str]", list(COVARIATES), "covariates of the type model"),
        "n_clusters": ParamSpec(int, 7, "clusters of the data-driven typology", minimum=2),
        "quality_sample": ParamSpec(int, 600, "careers sampled to assess k (0: skip)",
                                    minimum=0),
        "level": ParamSpec(float, 0.95, "confidence level", minimum=0.5, maximum=0.999),
    },
    build=build,
    generate=generate,
    id_parameter="person_id",
)
