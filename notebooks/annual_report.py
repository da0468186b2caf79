# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Annual evaluation report — the three programmes in one document
#
# Builds *Hope in stations*, the rSa experiment and the CPAS careers study into one
# self-contained HTML report, with the same section builders as the three programme
# notebooks and as `evalkit report reports/configs/annual_report.toml`.
#
# ```bash
# jupytext --to ipynb --set-kernel python3 notebooks/annual_report.py
# papermill notebooks/annual_report.ipynb out.ipynb -p lang en -p output_dir /tmp/reports
# ```

# %% tags=["parameters"]
data_dir = "data_samples"        # folder with <programme>_<table>.csv files; empty: synthetic data
output_dir = "reports/output"    # where the HTML report goes (relative: to the repository root)
seed = 2024                      # bootstrap, permutations, cluster samples, synthetic data
lang = "fr"                      # "fr" or "en"
n_boot = 999                     # rSa: multiplier-bootstrap draws
n_perm = 999                     # Hope in stations: permutations of the network tests
threshold = 11                   # disclosure: counts of persons below it are masked

# %%
# ruff: noqa: E402, B018  (imports follow the parameters cell; a bare name displays it)
from evalkit.report.builder import Report
from evalkit.report.programme import get_programme, sample_paths
from evalkit.report.run import programme_section, project_path

title = {"fr": "Rapport annuel d'évaluation", "en": "Annual evaluation report"}[lang]
report = Report(title, lang=lang, threshold=threshold)
report.provenance.seed = seed
settings = {
    "hope_in_stations": {"n_perm": n_perm},
    "rsa_experiment": {"n_boot": n_boot},
    "cpas_careers": {},
}
for name, params in settings.items():
    inputs = {"tables": get_programme(name).generate(seed)} if not data_dir else {
        "paths": sample_paths(name, project_path(data_dir))}
    report.add(programme_section(name, report, params=params, seed=seed, **inputs))

# %%
for section in report.failures + report.unavailable:
    print(f"{section.status}: {section.title}: {section.reason}")

# %%
out = report.publish(project_path(output_dir) / "annual_report.html")
print(out)
if report.failures:  # a failed analysis fails the run (non-zero exit); NAME.html is kept
    raise RuntimeError("; ".join(f"{s.title}: {s.reason}" for s in report.failures))
