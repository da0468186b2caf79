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
# ruff: noqa: E402  (imports follow the parameters cell)
from evalkit.report.run import programme_report, project_path

report = programme_report(
    ["hope_in_stations", "rsa_experiment", "cpas_careers"],
    data_dir=data_dir, lang=lang, seed=seed, threshold=threshold,
    params={"hope_in_stations": {"n_perm": n_perm}, "rsa_experiment": {"n_boot": n_boot}},
)

# %%
for section in report.failures + report.unavailable:
    print(f"{section.status}: {section.title}: {section.reason}")

# %%
out = report.publish(project_path(output_dir) / "annual_report.html")
print(out)
if report.failures:  # a failed analysis fails the run (non-zero exit); the last good report is kept
    raise RuntimeError("; ".join(f"{s.title}: {s.reason}" for s in report.failures))
