"""Rule typology for any study: the user's own states and types, on TraMineR's mvad data.

mvad (McVicar & Anyadike-Danes 2002) follows 712 Northern Irish school leavers monthly
(Jul.93-Jun.99) over employment, further education (FE), higher education (HE),
joblessness, school and training: no integration income, allowance or activation state.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from mvad_reference import STATES, load_mvad, month_columns
from numpy.testing import assert_array_equal

from evalkit.data import Sequences
from evalkit.errors import ConfigError, UnknownCategoryError
from evalkit.typology.rules import CareerRules, RuleTypology

LABELS = {"employment": "Emploi", "FE": "Formation continue", "HE": "Études supérieures",
          "joblessness": "Sans emploi", "school": "École", "training": "Stage"}
TYPE_LABELS = {"sustainable": "Insertion durable", "education": "Études",
               "training": "Formation"}
RULES = CareerRules(employment_states=("employment",), integration_state=None,
                    allowance_states=(), activation_state=None,
                    dominant_types={"education": ("school", "FE", "HE"),
                                    "training": ("training",)})


@pytest.fixture(scope="module")
def mvad():
    frame = load_mvad()
    cols = month_columns(frame, tramineer_window=False)
    seq = Sequences.from_wide(frame, id="id", columns=cols, alphabet=STATES, labels=LABELS)
    return frame, cols, seq


def reference_types(frame: pd.DataFrame, cols: list[str], rules: CareerRules) -> list[str]:
    """The documented rules read literally, one person at a time (plain Python)."""
    groups = rules.dominant_groups()
    out = []
    for states in frame[cols].itertuples(index=False):
        emp = [s in rules.employment_states for s in states]
        runs, current, seen = [], 0, False
        for e in emp:
            if e:
                if current:
                    runs.append(current)
                current, seen = 0, True
            elif seen:
                current += 1
        if current:
            runs.append(current)
        n_int = sum(r >= rules.min_interruption_months for r in runs)
        if sum(emp) / len(states) >= rules.sustainable_min_share:
            out.append("sustainable_interrupted" if n_int else "sustainable")
            continue
        # Statuses: employment, then each state or declared group, in alphabet order.
        counts = {"EMP": sum(emp)}
        for s in STATES:
            if s in rules.employment_states:
                continue
            key = next((code for code, members in groups if s in members), s)
            counts[key] = counts.get(key, 0) + states.count(s)
        dominant = max(counts, key=counts.get)
        if dominant in dict(groups):
            out.append(dominant)
        else:
            out.append("nonsustainable_interrupted"
                       if n_int >= rules.nonsustainable_min_interruptions else "nonsustainable")
    return out


def test_user_declared_states_and_types_classify_mvad_as_the_rules_say(mvad):
    frame, cols, seq = mvad
    res = RuleTypology(seq, rules=RULES, type_labels=TYPE_LABELS).fit()
    assert RULES.type_codes == ("sustainable", "sustainable_interrupted",
                                "nonsustainable_interrupted", "nonsustainable",
                                "education", "training")
    assert list(res.params.index) == list(RULES.type_codes)
    expected = reference_types(frame, cols, RULES)
    assert_array_equal(res.types["career_type"].astype(str).to_numpy(), expected)
    # Every type occurs: the rules separate mvad's school-to-work careers.
    counts = pd.Series(expected).value_counts()
    assert set(counts.index) == set(RULES.type_codes)
    assert res.counts.sum() == 712 and abs(res.params.sum() - 1) < 1e-12
    # Dominant status of an education career names the declared group.
    edu = res.types[res.types["career_type"] == "education"]
    assert set(edu["dominant_status"].astype(str)) == {"school+FE+HE"}


def test_outputs_carry_the_users_labels_and_no_cpas_words(mvad):
    _, _, seq = mvad
    res = RuleTypology(seq, rules=RULES, type_labels=TYPE_LABELS).fit()
    frame = res.to_frame()
    assert frame.loc["education", "label"] == "Études"
    assert frame.loc["nonsustainable", "label"] == "Non-sustainable"  # generic default
    assert "benchmark_share" not in frame
    text = str(res.summary()) + res.profile().to_string()
    for word in ("CPAS", "RIS", "ONEM", "study", "Integration income"):
        assert word not in text
    for fig in (res.plot(), res.chronogram(), res.index_plot()):
        fig.canvas.draw()
        shown = {t.get_text() for t in fig.findobj(plt.Text)}
        assert not any(w in s for s in shown for w in ("CPAS", "RIS", "ONEM", "study"))
        plt.close(fig)
    fig = res.chronogram()
    shown = {t.get_text() for t in fig.findobj(plt.Text)}
    assert {"Emploi", "Sans emploi", "Études", "Jul.93"} <= shown
    plt.close(fig)


def test_rules_refuse_inconsistent_declarations():
    with pytest.raises(ConfigError, match="two roles"):
        CareerRules(employment_states=("employment",), integration_state=None,
                    activation_state=None, allowance_states=(),
                    dominant_types={"education": ("FE",), "further": ("FE",)})
    with pytest.raises(ConfigError, match="base type"):
        CareerRules(dominant_types={"sustainable": ("UB",)})
    with pytest.raises(ConfigError, match="map type codes"):
        CareerRules(dominant_types=["education"])
    # A role left at its CPAS default on data without that state says how to drop it.
    seq = Sequences.from_wide(pd.DataFrame({"id": [1], **{f"m{i}": ["EMP"] for i in range(12)}}),
                              id="id", columns=[f"m{i}" for i in range(12)])
    with pytest.raises(UnknownCategoryError, match="or to None"):
        RuleTypology(seq, rules=CareerRules(employment_states=("EMP",)))
    ok = RuleTypology(seq, rules=CareerRules(employment_states=("EMP",), integration_state=None,
                                       allowance_states=None, activation_state=None)).fit()
    assert list(ok.params.index) == ["sustainable", "sustainable_interrupted",
                                     "nonsustainable_interrupted", "nonsustainable"]
    assert ok.params["sustainable"] == 1.0


def test_rules_round_trip_through_a_plain_dict():
    again = CareerRules(**RULES.to_dict())
    assert again == RULES
    assert RULES.to_dict()["dominant_types"] == {"education": ["school", "FE", "HE"],
                                                 "training": ["training"]}


def test_sensitivity_uses_the_declared_types(mvad):
    _, _, seq = mvad
    res = RuleTypology(seq, rules=RULES).fit()
    table = res.sensitivity("sustainable_min_share", [0.4, 0.5, 0.6])
    assert list(table.columns) == [*RULES.type_codes, "changed"]
    assert table.loc[0.5, "changed"] == 0
    np.testing.assert_allclose(table[list(RULES.type_codes)].sum(axis=1), 1.0)
