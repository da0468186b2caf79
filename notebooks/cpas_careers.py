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
# # CPAS careers after an article 60§7 contract — typology
#
# Monthly trajectories of people leaving an article 60§7 contract: the seven CPAS career
# types by explicit rules, who follows which type (multinomial logit), and a data-driven
# typology (optimal matching, CLARA) compared with the rules. The programme is defined in
# `evalkit/report/programmes/cpas_careers.toml` (sections of `evalkit.report.sections`); `evalkit report reports/configs/cpas_careers.toml`
# runs exactly the same code unattended.
#
# Run headless with parameters:
#
# ```bash
# jupytext --to ipynb --set-kernel python3 notebooks/cpas_careers.py
# papermill notebooks/cpas_careers.ipynb out.ipynb -p data_dir data_samples -p lang en
# ```

# %% tags=["parameters"]
data_dir = "data_samples"        # folder with cpas_careers_*.csv; empty: synthetic data
output_dir = "reports/output"    # where the HTML report goes (relative: to the repository root)
seed = 2024                      # cluster samples and synthetic data
lang = "fr"                      # "fr" or "en"
n_clusters = 7                   # clusters of the data-driven typology
analyses = ["descriptives", "rule_typology", "membership", "clustering"]

# %%
# ruff: noqa: E402, B018  (imports follow the parameters cell; a bare name displays it)
from evalkit.report.run import programme_report, project_path

NAME = "cpas_careers"
report = programme_report(NAME, data_dir=data_dir, lang=lang, seed=seed,
                          params={NAME: {"n_clusters": n_clusters}}, analyses={NAME: analyses})

# %% [markdown]
# The report body (tables of person counts are disclosure-controlled, identifiers refused):

# %%
report

# %%
out = report.publish(project_path(output_dir) / f"{NAME}.html")
print(out)
if report.failures:  # a failed analysis fails the run (non-zero exit); NAME.html is kept
    raise RuntimeError("; ".join(f"{s.title}: {s.reason}" for s in report.failures))
