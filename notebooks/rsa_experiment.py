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
# ATT(g,t) aggregated by exposure time and cohort. The analysis code lives in
# `evalkit.report.rsa_experiment`; `evalkit report reports/configs/rsa_experiment.toml`
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
analyses = ["descriptives", "twfe", "callaway_santanna"]

# %%
# ruff: noqa: E402, B018  (imports follow the parameters cell; a bare name displays it)
from evalkit.report.builder import Report
from evalkit.report.programme import get_programme, sample_paths
from evalkit.report.run import programme_section, project_path

NAME = "rsa_experiment"
spec = get_programme(NAME)
report = Report(spec.title[lang], lang=lang)
report.provenance.seed = seed
inputs = {"tables": spec.generate(seed)} if not data_dir else {
    "paths": sample_paths(NAME, project_path(data_dir))}
section = programme_section(NAME, report, analyses=analyses, params={"n_boot": n_boot},
                            seed=seed, **inputs)
report.add(section)

# %% [markdown]
# The report body (tables of person counts are disclosure-controlled, identifiers refused):

# %%
report

# %%
out = report.publish(project_path(output_dir) / f"{NAME}.html")
print(out)
if report.failures:  # a failed analysis fails the run (non-zero exit); NAME.html is kept
    raise RuntimeError("; ".join(f"{s.title}: {s.reason}" for s in report.failures))
