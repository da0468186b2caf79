"""A programme evalkit does not ship: defined only in TOML, over files shaped unlike data_samples/.

Generated data with every column renamed to French names with accents (and spaces in the
Parquet files), delivered as Stata (.dta, version 118: Unicode names, no spaces) and
Parquet; the report has DiD (2x2 and staggered), cohort, typology and indicators
sections, and says nothing of the seed programmes.
"""

from __future__ import annotations

import re
import textwrap
import warnings

import pytest
from report_helpers import visible_text

from evalkit.cli.main import main
from evalkit.datasets import cpas_careers, hope_in_stations, rsa_experiment

PANEL = {"unit_id": "identifiant_foyer", "zone_id": "bassin_d_emploi", "period": "période",
         "quarter": "trimestre_libellé", "first_treated": "première_période_traitée",
         "return_to_work": "accès_à_l_emploi", "age": "âge", "sex": "sexe",
         "departement": "département", "experimental": "expérimental",
         "household_type": "ménage", "education": "études", "months_on_benefit": "mois_aidé"}
SURVEY = {"respondent_id": "n° de dossier", "station": "antenne d'accueil", "wave": "vague d'enquête",
          "pilot": "antenne réformée", "integrated": "bénéficiaire du dispositif",
          "age": "âge (années)", "sex": "sexe déclaré", "nationality_group": "nationalité",
          "months_homeless": "mois sans logement", "health_problem": "problème de santé",
          "has_id_papers": "pièces d'identité", "slept_in_shelter": "hébergé",
          "social_worker_contact": "suivi social", "access_to_care": "soins reçus"}
SEQUENCES = {"person_id": "numéro de personne", "month": "mois écoulé", "state": "situation"}
PERSONS = {"person_id": "numéro_personne", "sex": "sexe", "age_band": "tranche_d_âge",
           "education": "diplôme", "nationality_group": "nationalité", "cpas": "commune"}

NBSP = "\u00a0"
SEED_WORDS = ["rSa", "revenu de solidarité", "allocataire", "gare", "Gare", "Hope",
              "article 60", "intégration des services", "station", "zone", "trimestre",
              "[", "_post", "np.int64"]


def _write_inputs(folder):
    rsa = rsa_experiment.generate(seed=11, n_units=300, n_zones=10)["panel"]
    rsa = rsa.rename(columns=PANEL)
    rsa.to_stata(folder / "panel.dta", write_index=False, version=118)
    hope = hope_in_stations.generate(seed=11, n_per_station_wave=60)["survey"]
    hope = hope[list(SURVEY)].rename(columns=SURVEY)
    hope.to_parquet(folder / "enquête.parquet", index=False)
    careers = cpas_careers.generate(seed=11, n_persons=500, n_months=24)
    careers["sequences"].rename(columns=SEQUENCES).to_parquet(folder / "parcours.parquet",
                                                              index=False)
    careers["persons"][list(PERSONS)].rename(columns=PERSONS).to_stata(
        folder / "personnes.dta", write_index=False, version=118)
    return hope


DEFINITION = """
[programme]
title = { fr = "Dispositif Cap Avenir", en = "Cap Avenir scheme" }
narrative.fr = "Le dispositif *Cap Avenir* accompagne des personnes vers l'emploi. Ce rapport en **mesure les effets**."
narrative.en = "The *Cap Avenir* scheme supports people into work. This report **measures its effects**."

[inputs.foyers]
contract = "panel"
doc = "panel des foyers (Stata)"
[inputs.foyers.roles]
id = "identifiant_foyer"
period = "période"
first_treated = "première_période_traitée"
outcome = "accès_à_l_emploi"
cluster = "bassin_d_emploi"

[inputs.enquete]
contract = "persons"
doc = "enquête auprès des personnes accueillies (Parquet)"
[inputs.enquete.roles]
id = "n° de dossier"
group = "bénéficiaire du dispositif"
site = "antenne d'accueil"
period = "vague d'enquête"
outcomes = ["hébergé", "suivi social", "soins reçus"]
covariates = ["âge (années)", "sexe déclaré", "nationalité", "mois sans logement", "problème de santé", "pièces d'identité"]

[inputs.parcours]
contract = "sequences"
alphabet = "cpas"
[inputs.parcours.roles]
id = "numéro de personne"
period = "mois écoulé"
state = "situation"

[inputs.personnes]
contract = "persons"
required = false
[inputs.personnes.roles]
id = "numéro_personne"
site = "commune"
covariates = ["sexe", "diplôme"]

[labels.variables]
"accès_à_l_emploi" = { fr = "Accès à l'emploi", en = "Access to work" }
"hébergé" = { fr = "Hébergé", en = "Housed" }
"suivi social" = { fr = "Suivi social", en = "Social follow-up" }
"soins reçus" = { fr = "Soins reçus", en = "Received care" }
"antenne d'accueil" = { fr = "Antenne", en = "Office" }
"vague d'enquête" = { fr = "Vague", en = "Wave" }

[parameters]
n_boot = 99
wcb_draws = 0
quality_sample = 0
n_clusters = 4

[[analyses]]
name = "deploiement"
section = "panel_descriptives"
input = "foyers"

[[analyses]]
name = "twfe"
section = "twfe"
input = "foyers"

[[analyses]]
name = "cs"
section = "callaway_santanna"
input = "foyers"

[[analyses]]
name = "did"
section = "did_2x2"
input = "enquete"
roles = { group = "antenne réformée" }
[analyses.text]
treated_group = { fr = "Antennes réformées", en = "Reformed offices" }
control_group = { fr = "Autres antennes", en = "Other offices" }

[[analyses]]
name = "cohortes"
section = "cohort_comparison"
input = "enquete"
parameters = { methods = ["dim", "ipw", "aipw"] }

[[analyses]]
name = "indicateurs"
section = "indicators"
input = "enquete"

[[analyses]]
name = "trajectoires"
section = "sequence_descriptives"
input = "parcours"

[[analyses]]
name = "typologie"
section = "rule_typology"
input = "parcours"
parameters = { persons = "personnes" }

[[analyses]]
name = "qui"
section = "type_membership"
input = "parcours"
parameters = { persons = "personnes" }

[[analyses]]
name = "classes"
section = "sequence_clustering"
input = "parcours"
"""


@pytest.fixture(scope="module")
def user_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cap avenir")
    survey = _write_inputs(folder)
    (folder / "définitions").mkdir()
    (folder / "définitions" / "cap_avenir.toml").write_text(DEFINITION, encoding="utf-8")
    config = folder / "rapport.toml"
    config.write_text(textwrap.dedent(f"""
        lang = "fr"
        seed = 5
        output_dir = "{folder / 'sortie'}"
        [cap_avenir]
        programme = "définitions/cap_avenir.toml"
        [cap_avenir.inputs]
        foyers = "panel.dta"
        enquete = "enquête.parquet"
        parcours = "parcours.parquet"
        personnes = "personnes.dta"
    """), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        code = main(["report", str(config), "-q"])
    return code, (folder / "sortie" / "rapport.html").read_text(encoding="utf-8"), survey


def test_full_report_for_a_toml_programme_on_renamed_stata_and_parquet(user_report):
    code, html, _ = user_report
    assert code == 0
    assert 'class="status failed"' not in html and "non disponible" not in html
    assert "<h2>1. Dispositif Cap Avenir</h2>" in html or "Dispositif Cap Avenir" in html
    assert "<em>Cap Avenir</em>" in html and "<strong>mesure les effets</strong>" in html
    for title in ("Données et déploiement", "Effets fixes à deux dimensions (TWFE)",
                  "Callaway et Sant&#39;Anna (2021)", "Différence de différences",
                  "Comparaison de cohortes", "Indicateurs de suivi", "Trajectoires observées",
                  "Typologie des carrières", "Typologie par classification",
                  "Qui suit quel type de carrière ?"):
        assert title in html, title
    # The user's labels, not column names, in tables.
    seen = visible_text(html)
    assert "Soins reçus" in seen and "Antennes réformées" in seen and "Vague 2" in seen
    assert len(re.findall(r'<figure class="table"', html)) >= 12
    # Every header and row label in the report's language: no model or column internals.
    assert ">group<" not in html and ">treated<" not in html and "Traitement" in seen
    assert "sexe déclaré_" not in seen and "sexe déclaré : female" in seen  # NBSP normalised
    assert "Emploi à temps plein" in seen  # CPAS states named, not coded
    # A summary of the headline estimates opens the report.
    assert html.index('id="summary"') < html.index('id="cap_avenir"')


def test_no_seed_programme_words_in_a_users_report(user_report):
    _, html, _ = user_report
    seen = visible_text(html)
    leaked = [w for w in SEED_WORDS if w in seen]
    assert leaked == []


def test_no_identifier_of_the_users_files_in_the_report(user_report):
    _, html, survey = user_report
    ids = set(survey["n° de dossier"].astype(str))
    tokens = set(re.findall(r"H\d{6}", html))
    assert tokens.isdisjoint(ids)
