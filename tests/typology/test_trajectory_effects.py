"""Effect of a programme on careers: cohort estimators on type shares and months in each
state recover the truth of cpas_careers with a known programme effect."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from evalkit.data import Sequences
from evalkit.datasets import cpas_careers
from evalkit.typology.discrepancy import discrepancy_analysis
from evalkit.typology.distances import sequence_distances
from evalkit.typology.effects import trajectory_effects, trajectory_outcomes
from evalkit.typology.rules import RuleTypology
from evalkit.typology.states import CAREER_TYPE_CODES, CPAS_ALPHABET

COVARIATES = ["sex", "age_band", "education", "nationality_group", "contract_months"]


def draw(seed, n=2000, effect=0.3):
    data = cpas_careers.generate(seed=seed, n_persons=n, n_months=36, programme_effect=effect)
    seq = Sequences(data["sequences"], alphabet=CPAS_ALPHABET)
    lived = data.truth["career_type"].set_index("person_id")["career_type"]
    return data, seq, lived


def test_generator_keeps_the_default_draws_and_states_its_truth():
    plain = cpas_careers.generate(seed=5, n_persons=500, n_months=24)
    data = cpas_careers.generate(seed=5, n_persons=500, n_months=24, programme_effect=0.4)
    assert plain["persons"].equals(data["persons"].drop(columns="arm"))
    untreated = data.truth["untreated_career_type"]
    lived = data.truth["career_type"]["career_type"]
    arm = data["persons"]["arm"].to_numpy() == "programme"
    # Only programme-arm persons with a non-sustainable Y(0) move, and only to sustainable.
    moved = np.asarray(lived != untreated)
    assert moved.any() and arm[moved].all()
    assert set(untreated[moved]) <= {"nonsustainable", "nonsustainable_interrupted"}
    assert set(lived[moved]) == {"sustainable"}
    shares = lambda t: pd.Series(t[arm]).value_counts(normalize=True).reindex(  # noqa: E731
        list(CAREER_TYPE_CODES), fill_value=0.0)
    np.testing.assert_allclose(data.truth["att_types"], shares(lived) - shares(untreated),
                               atol=1e-12)
    assert abs(data.truth["att_types"].sum()) < 1e-12
    # Months: the movers' sequences changed, nobody else's, and every person has 24 months.
    assert abs(data.truth["att_months"].sum()) < 1e-9
    with pytest.raises(ValueError, match="probability"):
        cpas_careers.generate(seed=1, n_persons=50, programme_effect=1.5)


def test_aipw_and_ipw_recover_the_effect_on_types_and_months():
    # 12 draws of 2,000 persons: mean error within 3 Monte Carlo SEs of 0 and CIs cover
    # the sample truth; the naive difference in means is biased (the arm depends on
    # education and age, which shift the types).
    errors = {m: [] for m in ("ipw", "aipw", "dim")}
    covered, months_err = [], []
    for seed in range(12):
        data, seq, lived = draw(seed)
        truth = data.truth["att_types"]
        for method in errors:
            res = trajectory_effects(seq, data["persons"], group="arm", treated="programme",
                                     covariates=COVARIATES, types=lived, method=method)
            errors[method].append(res.types["estimate"] - truth)
            if method == "aipw":
                covered.append((res.types["ci_lower"] <= truth) & (truth <= res.types["ci_upper"]))
                months_err.append((res.months["estimate"] - data.truth["att_months"].to_numpy())
                                  / res.months["std_error"])
                np.testing.assert_allclose(res.types["estimate"].sum(), 0.0, atol=1e-10)
    for method in ("ipw", "aipw"):
        err = pd.DataFrame(errors[method])
        z = err.mean() / (err.std(ddof=1) / np.sqrt(len(err)))
        assert (z.abs() < 3.5).all(), (method, z.round(2).to_dict())
    assert pd.DataFrame(covered).to_numpy().mean() > 0.85
    assert pd.DataFrame(months_err).abs().mean().max() < 1.5
    naive = pd.DataFrame(errors["dim"]).mean()
    assert naive["allowance"] < -0.03  # older persons: fewer in the programme, more allowances


def test_rule_types_and_discrepancy_by_arm_on_one_draw(tmp_path):
    data, seq, _ = draw(42, n=1500, effect=0.5)
    rules = RuleTypology(seq).fit()
    res = trajectory_effects(seq, data["persons"], group="arm", treated="programme",
                             covariates=COVARIATES, types=rules, method="ipw")
    truth = data.truth["att_types"]
    # Rule types are the generating types for ~99 % of persons: the effect on the
    # sustainable share is recovered within 3 SEs.
    assert abs(res.types.loc["sustainable", "estimate"] - truth["sustainable"]) < (
        3 * res.types.loc["sustainable", "std_error"])
    assert res.types.loc["sustainable", "label"] == "Sustainable career"
    assert "p_value" in res.months and list(res.months.index) == list(CPAS_ALPHABET)
    fig = res.plot()
    fig.savefig(tmp_path / "effects.png", dpi=70)
    plt.close(fig)
    assert "Career types" in res.summary()
    outcomes = trajectory_outcomes(seq, rules)
    np.testing.assert_allclose(outcomes.filter(like="months: ").sum(axis=1), 36)
    np.testing.assert_allclose(outcomes.filter(like="type: ").sum(axis=1), 1)
    # Whole trajectories differ between arms: a significant but small pseudo-R2.
    d = sequence_distances(seq, method="HAM")
    arm = data["persons"].set_index("person_id").loc[seq.ids, "arm"].to_numpy()
    da = discrepancy_analysis(d, arm, n_perm=99)
    assert da.p_value == pytest.approx(0.01) and 0 < da.pseudo_r2 < 0.1
