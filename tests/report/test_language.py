"""A French report reads as French: figure text, variable names, warnings, numbers.

The fixed text of figures drawn by the estimators (Love plot, propensity
overlap, event study, Bacon plot, networks...) is English by default; the
report passes translated labels. Variables appear under readable labels, not
as data column names. Figures drawn twice stay byte-identical.
"""

from __future__ import annotations

import base64
import re
from html import unescape

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from evalkit.report import Report
from evalkit.report.elements import Figure, ReportWarning, Section
from evalkit.report.figures import figure_language, localise_numbers
from evalkit.report.i18n import warning_lead
from evalkit.report.labels import variable_label, variable_labels
from evalkit.report.programme import get_programme
from evalkit.report.run import programme_section

NBSP = "\u00a0"

# (programme, analyses) covering every figure whose text the report sets.
PARTS = {
    "hope_in_stations": ["cohort", "did", "attrition", "network"],
    "rsa_experiment": ["twfe", "bacon", "callaway_santanna"],
    "cpas_careers": ["descriptives", "rule_typology", "membership"],
}
PARAMS = {"hope_in_stations": {"n_perm": 19, "wcb_draws": 0}, "rsa_experiment": {"n_boot": 49},
          "cpas_careers": {"quality_sample": 0}}

# English figure text fixed in the French report, and the raw names it replaced.
ENGLISH_FIGURE_TEXT = [
    "Covariate balance", "absolute standardised mean difference", "unadjusted",
    "propensity score", "common support", "density", "pre-treatment", "post-treatment",
    "periods since treatment", "uniform band", "overall ATT", "Goodman-Bacon decomposition",
    "2x2 DiD estimate", "Treated vs Untreated", "Later vs Earlier Treated",
    "average marginal effect", "railway", "nonsustainable",
    "Mean outcome", "difference-in-differences", "without treatment", "parallel trend",
    "CPAS study", "étude CPAS", "règles",
]
RAW_NAMES = ["sex_female", "nationality_group_non-EU", "months_homeless", "has_id_papers",
             "age_band[26-35]", "education[low]", "group[True]", "intercept", "slept_in_shelter"]


def _render(lang: str) -> str:
    report = Report("r", lang=lang)
    for name, analyses in PARTS.items():
        tables = get_programme(name).generate(7)
        report.add(programme_section(name, report, tables=tables, analyses=analyses,
                                     params=PARAMS[name], seed=1))
    assert not report.failures, [s.reason for s in report.failures]
    return report.render()


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {lang: _render(lang) for lang in ("fr", "en")}


def _figure_text(html: str) -> str:
    """Text drawn in the report's figures (matplotlib keeps each string in an SVG comment)."""
    svgs = [base64.b64decode(b).decode()
            for b in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)]
    return " ".join(" ".join(re.findall(r"<!--(.*?)-->", svg, flags=re.S)) for svg in svgs)


def _body(html: str) -> str:
    """Visible report body (unescaped) without the provenance block, which lists parameters."""
    return unescape(html.split("<main>")[1].split('<section class="provenance"')[0])


def test_french_figures_carry_no_english_text(rendered):
    fr, en = _figure_text(rendered["fr"]), _figure_text(rendered["en"])
    left = [text for text in ENGLISH_FIGURE_TEXT if text in fr]
    assert left == []
    for text in ("score de propension", "support commun", "cohorte intégrée",
                 "avant le démarrage", "bande uniforme", "Traités contre jamais traités",
                 "entreprise ferroviaire", "effet marginal moyen", "Carrière durable",
                 "Moyenne de l'indicateur", "Vague 1 (avant)", "Vague 2 (après)",
                 "Gares pilotes sans intégration (tendance parallèle)",
                 f"Effet estimé après ajustement{NBSP}: 0,", "Étude CPAS", "Règles",
                 "Mois après la fin du contrat"):
        assert text in fr, text
    # The English report keeps English figure text.
    for text in ("propensity score", "common support", "pre-treatment", "uniform band",
                 "Treated vs never treated", "railway company", "average marginal effect",
                 "Mean outcome", "Wave 1 (before)", "Pilot stations without integration",
                 "Estimated effect, adjusted: 0.", "CPAS study", "Rules"):
        assert text in en, text
    assert "Covariate balance" in rendered["en"] and "Covariate balance" not in rendered["fr"]


def test_variables_appear_under_readable_labels(rendered):
    for lang, expected in (("fr", [f"Sexe{NBSP}: femme", "Mois sans abri",
                                   f"Nationalité{NBSP}: hors UE", f"Âge{NBSP}: 26–35 ans",
                                   f"Niveau d'études{NBSP}: faible", "Constante",
                                   f"Gare pilote{NBSP}: oui", "Traitement (rSa)"]),
                           ("en", ["Sex: female", "Months homeless", "Nationality: non-EU",
                                   "Age: 26–35", "Education: low", "Intercept",
                                   "Pilot station: yes"])):
        body = _body(rendered[lang])
        figures = _figure_text(rendered[lang])
        for name in RAW_NAMES:
            assert name not in re.sub(r'src="data:[^"]+"', "", body), (lang, name)
            assert name not in figures, (lang, name)
        for text in expected:
            assert text in body, (lang, text)
    # Figure tick labels too: the Love plot and the type model's panels.
    fr_figures = _figure_text(rendered["fr"])
    assert f"Sexe{NBSP}: femme" in fr_figures and f"Âge{NBSP}: 56–64 ans" in fr_figures


def test_french_figures_use_a_decimal_comma(rendered):
    fr, en = _figure_text(rendered["fr"]), _figure_text(rendered["en"])
    assert re.search(r"\b0,0[5-9]\b", fr) and not re.search(r"\b0\.05\b", fr)
    assert re.search(r"\b0\.05\b", en)


def test_reference_levels_of_the_type_model_are_named(rendered):
    # The model picks its reference levels; the note names the ones its terms leave out.
    fr = re.search(f"Modalités de référence{NBSP}: Sexe{NBSP}: (femme|homme) ;", rendered["fr"])
    en = re.search("Reference levels: Sex: (female|male);", rendered["en"])
    assert fr and en and {"femme": "female", "homme": "male"}[fr[1]] == en[1]
    term = "sex[F]" if en[1] == "male" else "sex[M]"
    assert get_programme("cpas_careers").labels.variable(term, "en") in unescape(_body(rendered["en"]))


def test_quarters_are_written_the_french_way(rendered):
    fr = _body(rendered["fr"])
    assert "T4 2007" in fr and "2007Q4" not in fr
    assert "2007Q4" in _body(rendered["en"])


def test_rerendering_gives_identical_figures(rendered):
    again = _render("fr")
    assert _figure_text(again) == _figure_text(rendered["fr"])
    first = re.findall(r'src="(data:image/svg[^"]+)"', rendered["fr"])
    assert re.findall(r'src="(data:image/svg[^"]+)"', again) == first


def test_warning_boxes_explain_the_warning_in_the_report_language():
    section = Section("s")
    section.warnings.append(ReportWarning("FewClustersWarning", "only 7 clusters in 'station'"))
    section.warnings.append(ReportWarning("SomethingNewWarning", "technical detail"))
    fr = Report("r", lang="fr").add(section).render()
    en = Report("r", lang="en").add(section).render()
    assert "Peu de grappes" in fr and "only 7 clusters in &#39;station&#39;" in fr
    assert "Message technique (en anglais)" in fr
    # Unknown warning classes still get a French lead-in; English shows the message only.
    assert warning_lead("SomethingNewWarning", "fr") in fr
    assert "Few clusters:" in en and "technical detail" in en
    for kind in ("FewClustersWarning", "ExtremeWeightsWarning", "ForbiddenComparisonWarning",
                 "SmallGroupWarning"):
        assert warning_lead(kind, "fr") and warning_lead(kind, "en")


def test_variable_label_forms():
    hope = get_programme("hope_in_stations").labels
    cpas = get_programme("cpas_careers").labels
    assert hope.variable("sex_female", "fr") == f"Sexe{NBSP}: femme"
    assert hope.variable("nationality_group_EU", "en") == "Nationality: other EU"
    assert cpas.variable("education[T.medium]", "fr") == f"Niveau d'études{NBSP}: moyen"
    assert cpas.variable("age_band[18-25]", "en") == "Age: 18–25"
    assert hope.variable("sex", "fr") == "Sexe"
    # Unknown names are shown as they are, never dropped; unlabelled terms still read well.
    assert variable_label("my_score", "fr") == "my_score"
    assert variable_label("sexe[F]", "fr") == f"sexe{NBSP}: F"
    assert variable_label("group[True]", "fr", extra={"group": ("Gare pilote", "Pilot")}) \
        == f"Gare pilote{NBSP}: oui"
    assert hope.names(["age", "x"], "en") == {"age": "Age", "x": "x"}
    # The engine knows no programme's variables.
    assert variable_labels(["sex", "age"], "fr") == {"sex": "sex", "age": "age"}


def test_localise_numbers_changes_numeric_ticks_only():
    fig, ax = plt.subplots()
    ax.plot([0, 0.5, 1], [0, 0.25, 1.5])
    ax.set_xticks([0, 0.5, 1], ["a.b", "c", "d"])  # text ticks stay as they are
    localise_numbers(fig, "fr")
    fig.canvas.draw()
    ys = [t.get_text() for t in ax.get_yticklabels()]
    assert any("," in y for y in ys) and not any("." in y for y in ys)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a.b", "c", "d"]
    plt.close(fig)


def test_figure_language_applies_to_figures_built_inside_it():
    def svg(lang):
        fig, ax = plt.subplots()
        ax.plot(np.linspace(0, 1, 5), np.linspace(0, 0.5, 5))
        with figure_language(lang):
            return Figure(fig).figure
    fr, en = svg("fr"), svg("en")
    assert "0,2" in fr and "0.2" not in " ".join(re.findall(r"<!--(.*?)-->", fr))
    assert "0.2" in en
    fig, ax = plt.subplots()
    ax.plot([0, 0.5], [0, 0.5])
    outside = Figure(fig).figure  # no language set: matplotlib's own format
    assert "0.2" in outside


def _texts(fig) -> set[str]:
    """Every text drawn on a figure (titles, axis labels, ticks, legends)."""
    fig.canvas.draw()
    out = {t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))}
    plt.close(fig)
    return out


def test_plots_keep_english_defaults_and_take_given_text():
    from evalkit.cohort.balance import balance_table
    from evalkit.cohort.propensity import PropensityScore
    from evalkit.indicators.definition import Disaggregations, Indicator
    from evalkit.indicators.evaluate import IndicatorModel

    survey = get_programme("hope_in_stations").generate(7)["survey"]
    post = survey[survey["wave"] == 2]
    covariates = ["age", "sex", "months_homeless"]
    balance = balance_table(post, group="integrated", covariates=covariates)
    default = _texts(balance.plot())
    assert {"Covariate balance", "unadjusted", "sex_female"} <= default
    given = _texts(balance.plot(labels={"sex_female": "Femmes"}, title=None, xlabel="écart",
                                legend={"unadjusted": "avant"}))
    assert {"Femmes", "écart", "avant"} <= given and "Covariate balance" not in given

    ps = PropensityScore(post, group="integrated", covariates=covariates).fit()
    default = _texts(ps.plot())
    assert {"propensity score", "density", "common support"} <= default
    given = _texts(ps.plot(group_names={"treated": "intégrés", "control": "témoins"},
                           xlabel="score", ylabel="densité", support_label="support",
                           count_format=lambda name, n: f"{name} ({n})"))
    assert {"score", "densité", "support"} <= given
    assert any(t.startswith("intégrés (") for t in given)

    indicator = Indicator("access_to_care", "Accès aux soins", "Access to care",
                          kind="proportion", numerator="access_to_care",
                          disaggregations=("territory",))
    res = IndicatorModel([indicator], survey, disaggregations=Disaggregations(
        territory="station"), id="respondent_id").fit()
    assert "Access to care" in _texts(res.plot())
    assert "Accès aux soins" in _texts(res.plot(lang="fr"))


def test_did_plots_take_given_text():
    from evalkit.did.callaway_santanna import CallawaySantAnna
    from evalkit.did.event_study import EventStudy

    panel = get_programme("rsa_experiment").generate(7)["panel"]
    columns = dict(outcome="return_to_work", unit="unit_id", period="period",
                   first_treated="first_treated")
    quarters = dict(zip(panel["period"], panel["quarter"], strict=False))
    res = CallawaySantAnna(panel, **columns).fit(n_boot=49, seed=1)
    default = _texts(res.plot())
    assert {"pre", "post", "period"} <= default and any(t.startswith("cohort ") for t in default)
    given = _texts(res.plot(text={"pre": "avant", "post": "après", "cohort": "cohorte {group}",
                                  "xlabel": "trimestre"}, band_label="bande",
                            tick_labels=quarters))
    assert {"avant", "après", "trimestre", "bande"} <= given
    first = int(panel.loc[panel["first_treated"] > 0, "first_treated"].min())
    assert f"cohorte {quarters[first]}" in given

    es = EventStudy(panel, **columns).fit()
    assert "Periods relative to first treatment" in _texts(es.plot())
    given = _texts(es.plot(text={"xlabel": "trimestres", "ylabel": "effet ({level:.0%})",
                                 "title": None, "pre": "avant", "post": "après",
                                 "reference": "référence"}))
    assert {"trimestres", "effet (95%)", "avant", "après", "référence"} <= given


def _provenance_parameters(html: str) -> dict[str, str]:
    block = html.split('<section class="provenance"')[1]
    return dict(re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>", block))


def test_provenance_parameters_are_written_in_the_report_language(rendered):
    fr, en = (_provenance_parameters(rendered[lang]) for lang in ("fr", "en"))
    assert fr["hope_in_stations.cluster_by_site"] == "oui"
    assert en["hope_in_stations.cluster_by_site"] == "yes"
    assert fr["hope_in_stations.level"] == "0,95" and en["hope_in_stations.level"] == "0.95"
    assert fr["rsa_experiment.covariates"] == "–"  # empty setting, not a blank cell
    assert "True" not in fr.values() and "0.95" not in fr.values()


def test_negative_numbers_take_the_typographic_minus(rendered):
    for lang in ("fr", "en"):
        cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', rendered[lang])
        assert any(c.startswith("\u2212") for c in cells), lang
        assert not [c for c in cells if c.startswith("-")], lang
    body = _body(rendered["fr"])
    assert not re.search(r"(?<![\w(])-\d", re.sub(r'src="data:[^"]+"', "", body))


def test_membership_plot_takes_type_names_and_term_labels():
    from evalkit.datasets import cpas_careers
    from evalkit.typology.explain import TypeMembershipModel
    from evalkit.typology.states import career_type_labels

    data = cpas_careers.generate(seed=3, n_persons=1000, n_months=36)
    res = TypeMembershipModel(data.truth["career_type"], data.tables["persons"],
                              covariates=["sex", "age_band"], id="person_id").fit()
    default = _texts(res.plot())
    assert set(res.types) <= default and ("sex[M]" in default or "sex[F]" in default)
    assert "average marginal effect (percentage points)" in default
    names = career_type_labels("fr")
    order = [t for t in names if t in res.types]
    fig = res.plot(types=order, type_names=names,
                   term_labels={t: get_programme("cpas_careers").labels.variable(t, "fr")
                                for t in res.terms},
                   xlabel="effet marginal moyen")
    assert len(fig.axes) == len(order)  # the empty grid cell is removed
    titles = [ax.get_title().replace("\n", " ") for ax in fig.axes]
    assert titles == [names[t] for t in order]  # in the order asked, named
    given = _texts(fig)
    assert "effet marginal moyen" in given and f"Âge{NBSP}: 26–35 ans" in given
    assert not set(res.terms[1:]) & given


def test_chronogram_legend_can_sit_outside_the_plot():
    from evalkit.typology.plots import plot_chronogram

    dist = pd.DataFrame({"FT": [0.2, 0.4], "UB": [0.8, 0.6]}, index=[1, 2])
    for outside in (False, True):
        fig = plot_chronogram(dist, labels={"FT": "Emploi"}, xlabel="mois",
                              legend_outside=outside)
        fig.canvas.draw()
        legend = fig.legends[0].get_window_extent()
        plot = fig.axes[0].get_window_extent()
        assert legend.x0 >= plot.x1  # never over the areas
        assert (legend.x0 >= fig.bbox.x1) == outside
        assert fig.axes[0].get_xlabel() == "mois"
        assert {"Emploi", "UB"} <= _texts(fig)


@pytest.mark.filterwarnings("ignore::evalkit.errors.FewClustersWarning")
def test_did2x2_plot_keeps_english_defaults_and_takes_given_text():
    from evalkit.report.sections import InputData
    from evalkit.report.sections.did_2x2 import did_fit

    spec = get_programme("hope_in_stations")
    did = spec.analyses["did"]
    survey = InputData("survey", spec.generate(7)["survey"],
                       {**spec.inputs["survey"].roles, **did.roles})
    res = did_fit(survey, {**did.section.defaults(), **did.parameters}, "slept_in_shelter")
    default = _texts(res.plot())
    assert {"Mean outcome", "before", "after", "Treated without treatment (parallel trend)",
            f"{res.title} (ATT {res.att:.3f})"} <= default
    given = _texts(res.plot(labels=("témoins", "pilotes"), title="effet {att:.2f}",
                            ylabel="moyenne", period_labels=("avant", "après"),
                            counterfactual_label="{treated} sans intégration"))
    assert {"témoins", "pilotes", f"effet {res.att:.2f}", "moyenne", "avant", "après",
            "pilotes sans intégration"} <= given
    assert not {"Mean outcome", "before", "after"} & given
    assert not any(t.startswith("2x2") for t in _texts(res.plot(title=None)))


def test_french_typography_of_statistics_and_names(rendered):
    fr, en = _body(rendered["fr"]), _body(rendered["en"])
    assert "Callaway et Sant'Anna (2021)" in fr and "Callaway & Sant'Anna (2021)" in en
    assert f"comparaisons 2{NBSP}×{NBSP}2" in fr and "omparaisons 2x2" not in fr
    # Lists of French numbers (decimal comma) are separated by semicolons.
    from types import SimpleNamespace

    from evalkit.report.sections.staggered_did import pretest_text as _pretest_text

    pretest = SimpleNamespace(statistic=68.35, pvalue=0.065, df=24, n_clusters=60,
                              f_statistic=1.74)
    assert "F de Hotelling(24 ; 36) = 1,74 ; p = 0,065" in _pretest_text(pretest, "fr")
    assert "Hotelling F(24, 36) = 1.74, p = 0.065" in _pretest_text(pretest, "en")
    unclustered = SimpleNamespace(statistic=68.35, pvalue=0.065, df=24, n_clusters=None)
    assert "χ²(24) = 68,35 ; p = 0,065" in _pretest_text(unclustered, "fr")
    # The cohort effects: French space before the colon, none in English.
    assert f"A dormi en centre d'hébergement{NBSP}: 0," in fr
    assert "Slept in a shelter: 0." in en and "Slept in a shelter :" not in en
