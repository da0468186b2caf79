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
# # rSa experiment — staggered difference-in-differences
#
# The rSa started in experimental zones at different quarters (2007–2008). Roll-out
# cohorts, the (biased) two-way fixed-effects estimate, and Callaway & Sant'Anna's
# ATT(g,t) aggregated by exposure time and cohort. The programme is defined in
# `evalkit/report/programmes/rsa_experiment.toml` (sections of `evalkit.report.sections`); `evalkit report reports/configs/rsa_experiment.toml`
# runs exactly the same code unattended.
#
# Run headless with parameters:
#
# ```bash
# jupytext --to ipynb --set-kernel python3 notebooks/rsa_experiment.py
# papermill notebooks/rsa_experiment.ipynb out.ipynb -p data_dir data_samples -p lang en
# ```

# %% tags=["parameters"]
data_dir = "data_samples"        # folder with rsa_experiment_*.csv; empty: synthetic data
output_dir = "reports/output"    # where the HTML report goes (relative: to the repository root)
seed = 2009                      # bootstrap and synthetic data
lang = "fr"                      # "fr" or "en"
n_boot = 999                     # multiplier-bootstrap draws
analyses = ["descriptives", "twfe", "bacon", "callaway_santanna"]

# %%
# ruff: noqa: E402, B018  (imports follow the parameters cell; a bare name displays it)
from evalkit.report.run import programme_report, project_path

NAME = "rsa_experiment"
report = programme_report(NAME, data_dir=data_dir, lang=lang, seed=seed,
                          params={NAME: {"n_boot": n_boot}}, analyses={NAME: analyses})

# %% [markdown]
# The report body (tables of person counts are disclosure-controlled, identifiers refused):

# %%
report

# %%
out = report.publish(project_path(output_dir) / f"{NAME}.html")
print(out)
if report.failures:  # a failed analysis fails the run (non-zero exit); NAME.html is kept
    raise RuntimeError("; ".join(f"{s.title}: {s.reason}" for s in report.failures))
