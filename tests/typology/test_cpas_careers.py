"""Tests of the cpas_careers generator: exact type quotas, covariate logit, tables, spells."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from evalkit.data import Sequences
from evalkit.datasets import cpas_careers
from evalkit.typology.states import CAREER_TYPE_CODES, CPAS_ALPHABET, STUDY_SHARES


@pytest.fixture(scope="module")
def sample():
    return cpas_careers.generate(**cpas_careers.SAMPLE_KWARGS, spells=True)


def test_study_shares_are_the_published_ones():
    # The CPAS "activation durable" study: 19.3, 7.2, 18.8, 28.3, 8.2, 12.9, 5.3 %.
    assert_allclose([STUDY_SHARES[k] for k in CAREER_TYPE_CODES],
                    [0.193, 0.072, 0.188, 0.283, 0.082, 0.129, 0.053])
    assert_allclose(sum(STUDY_SHARES.values()), 1.0)


@pytest.mark.parametrize("n", [100, 137, 2000, 20_000, 99_991])
def test_type_shares_within_one_over_n_of_study(n):
    quotas = cpas_careers.type_quotas(n)
    assert quotas.sum() == n
    study = np.array([STUDY_SHARES[k] for k in CAREER_TYPE_CODES])
    assert np.abs(quotas / n - study).max() < 1 / n
    assert np.abs(quotas / n - study).max() <= 0.01


def test_generate_realises_quotas_and_is_deterministic(sample):
    again = cpas_careers.generate(**cpas_careers.SAMPLE_KWARGS, spells=True)
    for name in sample.tables:
        pd.testing.assert_frame_equal(sample[name], again[name])
    shares = sample.truth["type_shares"]
    assert_array_equal(shares["n"], cpas_careers.type_quotas(cpas_careers.SAMPLE_KWARGS["n_persons"]))
    assert (shares["share"] - shares["study_share"]).abs().max() <= 0.01
    other = cpas_careers.generate(seed=1, n_persons=2000)
    assert not other["sequences"]["state"].equals(sample["sequences"]["state"])


def test_tables_shapes_and_dictionary(sample):
    n, t = cpas_careers.SAMPLE_KWARGS["n_persons"], cpas_careers.SAMPLE_KWARGS["n_months"]
    persons, seqs = sample["persons"], sample["sequences"]
    assert len(persons) == n and persons["person_id"].is_unique
    assert len(seqs) == n * t
    assert set(seqs["state"].cat.categories) == set(CPAS_ALPHABET)
    assert seqs["month"].min() == 1 and seqs["month"].max() == t
    for name, table in sample.tables.items():
        assert set(table.columns) == set(sample.dictionary[name]), name
    assert persons["age"].between(18, 64).all()
    low = persons["age_band"].astype(str).str[:2].astype(int)
    high = persons["age_band"].astype(str).str[3:].astype(int)
    assert ((persons["age"] >= low) & (persons["age"] <= high)).all()
    # The sequence table, read back through the data contract, is the generator's matrix.
    seq = Sequences(seqs, alphabet=CPAS_ALPHABET)
    assert_array_equal(seq.matrix, sample.truth["matrix"])


def test_spells_rebuild_the_sequences(sample):
    spells = sample["spells"]
    seq = Sequences.from_spells(spells, id="person_id", state="state", start="start_month",
                                end="end_month", alphabet=CPAS_ALPHABET)
    assert_array_equal(seq.matrix, sample.truth["matrix"])
    assert (spells["end_month"] - spells["start_month"] + 1 == spells["n_months"]).all()
    # Consecutive spells of a person differ in state (maximal runs).
    same = (spells["person_id"].shift() == spells["person_id"]) & (
        spells["state"].astype(str).shift() == spells["state"].astype(str))
    assert not same.any()


def test_true_coefficients_are_the_bayes_posterior_log_odds():
    """Drawing covariates given type makes type | covariates exactly the documented logit.

    For every combination of covariate values, compute P(type | x) by Bayes' rule from
    the study shares and the per-type covariate distributions, and compare its log-odds
    vs the base type with Intercept + sum of the true coefficients.
    """
    coefs = cpas_careers.true_coefficients()
    covs = cpas_careers.COVARIATES
    probs = {c: cpas_careers._conditional_probs(c) for c in covs}
    prior = np.array([STUDY_SHARES[k] for k in CAREER_TYPE_CODES])
    base = CAREER_TYPE_CODES.index(cpas_careers.BASE_TYPE)
    for combo in itertools.product(*[range(len(covs[c][0])) for c in covs]):
        joint = prior.copy()
        for c, j in zip(covs, combo, strict=True):
            joint = joint * probs[c][:, j]
        for k in coefs.columns:
            expected = coefs.loc["Intercept", k] + sum(
                coefs.loc[f"{c}[{covs[c][0][j]}]", k] for c, j in zip(covs, combo, strict=True)
                if j > 0)
            observed = np.log(joint[CAREER_TYPE_CODES.index(k)] / joint[base])
            assert_allclose(observed, expected, atol=1e-12)


def test_covariate_distribution_given_type_matches_design():
    data = cpas_careers.generate(seed=11, n_persons=60_000)
    persons = data["persons"]
    types = np.asarray(data.truth["career_type"]["career_type"])
    for cov, (cats, _) in cpas_careers.COVARIATES.items():
        expected = cpas_careers._conditional_probs(cov)
        for k, code in enumerate(CAREER_TYPE_CODES):
            values = persons.loc[types == code, cov]
            freq = values.value_counts(normalize=True).reindex(list(cats), fill_value=0)
            n = (types == code).sum()
            se = np.sqrt(expected[k] * (1 - expected[k]) / n)
            assert np.all(np.abs(freq.to_numpy() - expected[k]) < 4.5 * se + 1e-12), (cov, code)
    # CPAS is drawn independently of type (zero true coefficients): chi-square test.
    from scipy.stats import chi2_contingency

    table = pd.crosstab(types, persons["cpas"])
    assert chi2_contingency(table).pvalue > 0.001


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="n_months"):
        cpas_careers.generate(seed=0, n_persons=10, n_months=6)
    with pytest.raises(ValueError, match="n_persons"):
        cpas_careers.generate(seed=0, n_persons=0)


def test_sample_tables_fit_the_size_budget(sample):
    for name, table in sample.tables.items():
        assert len(table.to_csv(index=False).encode()) < 5_000_000, name
