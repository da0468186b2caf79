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
# # Hope in stations — integrated services for homeless people
#
# Cohort comparison (wave 2, integrated vs comparison cohort), difference-in-differences on
# the repeated cross-sections (pilot vs comparison stations, before vs after) and the
# service collaboration networks. The programme is defined in
# `evalkit/report/programmes/hope_in_stations.toml` (sections of `evalkit.report.sections`); `evalkit report reports/configs/hope_in_stations.toml`
# runs exactly the same code unattended.
#
# Run headless with parameters:
#
# ```bash
# jupytext --to ipynb --set-kernel python3 notebooks/hope_in_stations.py
# papermill notebooks/hope_in_stations.ipynb out.ipynb -p data_dir data_samples -p lang en
# ```

# %% tags=["parameters"]
data_dir = "data_samples"        # folder with hope_in_stations_*.csv; empty: synthetic data
output_dir = "reports/output"    # where the HTML report goes (relative: to the repository root)
seed = 2024                      # permutations and synthetic data
lang = "fr"                      # "fr" or "en"
n_perm = 999                     # permutations of the network tests
analyses = ["descriptives", "cohort", "robustness", "did", "attrition", "indicators", "network"]

# %%
# ruff: noqa: E402, B018  (imports follow the parameters cell; a bare name displays it)
from evalkit.report.run import programme_report, project_path

NAME = "hope_in_stations"
report = programme_report(NAME, data_dir=data_dir, lang=lang, seed=seed,
                          params={NAME: {"n_perm": n_perm}}, analyses={NAME: analyses})

# %% [markdown]
# The report body (tables of person counts are disclosure-controlled, identifiers refused):

# %%
report

# %%
out = report.publish(project_path(output_dir) / f"{NAME}.html")
print(out)
if report.failures:  # a failed analysis fails the run (non-zero exit); NAME.html is kept
    raise RuntimeError("; ".join(f"{s.title}: {s.reason}" for s in report.failures))
