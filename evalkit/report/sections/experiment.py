"""Experiment section: randomisation inference beside clustered standard errors, and power.

Input: a table where whole sites (``cluster``: stations, zones) were assigned to an
arm (``group``), with ``outcome`` or ``outcomes`` and, for a before/after comparison,
``period`` (two periods: a 2x2 difference in differences; optional ``covariates``).

- the effect of each outcome with its clustered-standard-error p-value (CRV1, t(G-1))
  and its randomisation-inference p-value, from re-assigning the arm among the sites
  as the design did (every possible assignment when there are few: 7 stations with 4
  pilots give C(7, 4) = 35), with the test-inversion confidence interval;
- the randomisation distribution of the first outcome's estimate;
- power: the minimum detectable effect of this design (number of sites, people per
  site and wave, intra-site correlation estimated on the first period) and a power
  curve over the number of sites.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from evalkit.report.elements import Figure, Section, Table
from evalkit.report.params import ParamSpec
from evalkit.report.sections import SectionSpec


def _fit_did(frame, *, outcome, group, period, covariates, cluster, method):
    from evalkit.did.twoby2 import DiD2x2

    return DiD2x2(frame, outcome=outcome, group=group, period=period, covariates=covariates,
                  cluster=cluster, repeated_cross_section=True).fit(method=method)


def _experiment(data, ctx, params) -> Section:
    import warnings

    from evalkit.errors import EvalkitWarning
    from evalkit.experiment import randomization_test

    frame = data.frame
    group, cluster, period = data.role("group"), data.role("cluster"), data.role("period")
    outcomes = data.role("outcomes", None) or [data.role("outcome")]
    covariates = list(data.role("covariates", None) or [])
    level = params["level"]
    later = frame[period].max()
    treatment = "_treated_after"
    frame = frame.assign(**{treatment: (frame[group].astype(bool)
                                        & (frame[period] == later)).astype(int)})

    rows, first = [], None
    for outcome in outcomes:
        def statistic(d, outcome=outcome):
            return _fit_did(d, outcome=outcome, group=group, period=period,
                            covariates=covariates, cluster=cluster, method=params["did_method"])
        with warnings.catch_warnings():
            # The section states the few-sites caveat itself; the RI is the answer to it.
            warnings.simplefilter("ignore", EvalkitWarning)
            fit = statistic(frame)
            n_perm = params["n_perm"] or None
            ri = randomization_test(frame, statistic, group=group, cluster=cluster,
                                    outcome=outcome, treatment=treatment, param="att",
                                    linear=True, n_perm=_usable(n_perm, frame, group, cluster),
                                    seed=ctx.seed)
        ci = ri.conf_int(level).iloc[0]
        rows.append({"outcome": ctx.variable(outcome), "estimate": fit.params["att"],
                     "p_value": fit.pvalues["att"], "ri_p_value": ri.pvalue,
                     "ri_ci_lower": ci["lower"], "ri_ci_upper": ci["upper"]})
        first = first or (outcome, fit, ri)
    table = pd.DataFrame(rows).set_index("outcome")
    table.index.name = ctx.text("outcome")

    outcome, fit, ri = first
    n_sites = len(ri.assignment.units)
    n_treated = int(ri.assignment.observed.sum())
    method = (ctx.text("exact", n_assignments=ctx.number(ri.n_draws)) if ri.exact
              else ctx.text("monte_carlo", n_perm=ctx.number(ri.n_draws)))
    section = Section(ctx.text("title"))
    section.add(ctx.text("intro", n_sites=ctx.number(n_sites), n_treated=ctx.number(n_treated),
                         method=method, outcome=ctx.variable(outcome),
                         p_cluster=ctx.pvalue(fit.pvalues["att"]), p_ri=ctx.pvalue(ri.pvalue)))
    pct = ctx.percent(level, 0)
    section.add(Table(table, ctx.text("caption"), labels={
        "estimate": ctx.text("estimate"), "p_value": ctx.text("p_cluster"),
        "ri_p_value": ctx.text("p_ri"), "ri_ci_lower": ctx.text("ri_lower", pct=pct),
        "ri_ci_upper": ctx.text("ri_upper", pct=pct)}, note=ctx.text("note")))
    ax = ri.plot(title=None, xlabel=ctx.text("dist_xlabel"), ylabel=ctx.text("dist_ylabel"),
                 observed_label=f"{ctx.text('observed')} ({ctx.number(ri.statistic, 3)})")
    section.add(Figure(ax.figure, ctx.text("dist_figure", outcome=ctx.variable(outcome))))
    section.add(*_power(frame, ctx, params, outcome=outcome, group=group, cluster=cluster,
                        period=period, n_sites=n_sites, n_treated=n_treated))
    return section


def _usable(n_perm, frame, group, cluster):
    """``n_perm``, or None (exact enumeration) when the design has no more assignments."""
    from evalkit.experiment import Assignment

    if n_perm is None:
        return None
    design = Assignment(frame, group=group, cluster=cluster)
    return None if design.log10_assignments < 15 and n_perm >= design.n_assignments else n_perm


def _power(frame, ctx, params, *, outcome, group, cluster, period, n_sites, n_treated):
    from evalkit.experiment import mde_did, power_curve, power_did

    level = params["level"]
    first_period = frame[frame[period] == frame[period].min()]
    y = first_period[outcome].astype(float)
    sd = float(y.std())
    icc = _anova_icc(y.to_numpy(), first_period[cluster].to_numpy())
    n_per_wave = len(frame) / frame[period].nunique()
    share = n_treated / n_sites
    kwargs = dict(n_clusters=n_sites, icc=icc, share_treated=share, sd=sd, level=level)
    mde = mde_did(n_per_wave, power=params["power"], **kwargs)
    effect = params["effect_size"] * sd
    per_site = n_per_wave / n_sites
    sites = list(range(4, max(41, 2 * n_sites + 1)))
    curve = power_curve(
        lambda n_clusters: power_did(effect, per_site * n_clusters, n_clusters=n_clusters,
                                     icc=icc, share_treated=share, sd=sd, level=level),
        "n_clusters", sites)
    ax = curve.plot(target=params["power"], xlabel=ctx.text("power_xlabel"),
                    ylabel=ctx.text("power_ylabel"), analytic_label=ctx.text("power_curve"),
                    target_label=ctx.text("power_target",
                                          pct=ctx.percent(params["power"], 0)))
    ax.axvline(n_sites, color="#b2182b", ls=":", lw=1.5, label=ctx.text("this_design"))
    ax.legend(frameon=False, loc="lower right")
    reached = curve.to_frame().query(f"power >= {params['power']}")
    needed = int(reached["n_clusters"].min()) if len(reached) else None
    text = ctx.text("power", mde=ctx.number(mde, 3), mde_sd=ctx.number(mde / sd, 2),
                    power=ctx.percent(params["power"], 0), n_sites=ctx.number(n_sites),
                    per_site=ctx.number(round(per_site)), icc=ctx.number(icc, 3),
                    outcome=ctx.variable(outcome))
    if needed is not None:
        text += " " + ctx.text("needed", needed=ctx.number(needed),
                               effect=ctx.number(params["effect_size"], 2))
    return text, Figure(ax.figure, ctx.text("power_figure",
                                            effect=ctx.number(params["effect_size"], 2)))


def _anova_icc(y: np.ndarray, clusters: np.ndarray) -> float:
    """One-way ANOVA intra-cluster correlation (Donner 1986), floored at 0."""
    labels, codes = np.unique(clusters, return_inverse=True)
    k, n = len(labels), len(y)
    sizes = np.bincount(codes)
    means = np.bincount(codes, weights=y) / sizes
    msb = np.sum(sizes * (means - y.mean()) ** 2) / (k - 1)
    msw = np.sum((y - means[codes]) ** 2) / (n - k)
    n0 = (n - np.sum(sizes**2) / n) / (k - 1)
    icc = (msb - msw) / (msb + (n0 - 1) * msw)
    return float(min(max(icc, 0.0), 0.999)) if math.isfinite(icc) else 0.0


TEXT = {
    "title": ("Inférence par randomisation et puissance",
              "Randomisation inference and power"),
    "intro": (
        "L'intervention a été attribuée à {n_treated} sites sur {n_sites}. Avec aussi peu de "
        "sites, les erreurs types groupées sont fragiles. L'inférence par randomisation "
        "réattribue l'intervention entre les sites comme le plan l'a fait ({method}) et "
        "ré-estime la différence de différences à chaque fois : pour « {outcome} », "
        "p = {p_ri} contre p = {p_cluster} avec les erreurs types groupées.",
        "The intervention was assigned to {n_treated} of {n_sites} sites. With so few sites, "
        "clustered standard errors are fragile. Randomisation inference re-assigns the "
        "intervention among the sites as the design did ({method}) and re-estimates the "
        "difference-in-differences each time: for '{outcome}', p = {p_ri} against "
        "p = {p_cluster} with clustered standard errors.",
    ),
    "exact": ("toutes les {n_assignments} attributions possibles, p-valeur exacte",
              "all {n_assignments} possible assignments, an exact p-value"),
    "monte_carlo": ("{n_perm} attributions tirées au hasard",
                    "{n_perm} randomly drawn assignments"),
    "outcome": ("Indicateur", "Outcome"),
    "caption": ("Effet estimé : erreurs types groupées et inférence par randomisation",
                "Estimated effect: clustered standard errors and randomisation inference"),
    "estimate": ("Estimation", "Estimate"),
    "p_cluster": ("p (erreurs groupées)", "p (clustered SE)"),
    "p_ri": ("p (randomisation)", "p (randomisation)"),
    "ri_lower": ("IC {pct} inf. (randomisation)", "{pct} CI lower (randomisation)"),
    "ri_upper": ("IC {pct} sup. (randomisation)", "{pct} CI upper (randomisation)"),
    "note": (
        "Erreurs groupées : CRV1, loi t(G − 1). Randomisation : test de Fisher sous le plan "
        "d'attribution par site ; intervalle par inversion du test, en supposant un effet "
        "constant. Avec N attributions possibles, aucune p-valeur ne descend sous 1/N.",
        "Clustered SE: CRV1, t(G − 1). Randomisation: Fisher test under the site-level "
        "assignment; interval by test inversion, assuming a constant effect. With N possible "
        "assignments no p-value falls below 1/N.",
    ),
    "dist_xlabel": ("estimation sous une autre attribution des sites",
                    "estimate under another assignment of sites"),
    "dist_ylabel": ("part des attributions", "share of assignments"),
    "observed": ("estimation observée", "observed estimate"),
    "dist_figure": ("Distribution de randomisation de l'estimation ({outcome})",
                    "Randomisation distribution of the estimate ({outcome})"),
    "power": (
        "Puissance : avec {n_sites} sites d'environ {per_site} personnes par vague et une "
        "corrélation intra-site de {icc} (estimée à la première vague, ce qui est prudent), "
        "l'effet minimal détectable sur « {outcome} » avec une puissance de {power} est "
        "{mde} ({mde_sd} écart-type).",
        "Power: with {n_sites} sites of about {per_site} people per wave and an intra-site "
        "correlation of {icc} (estimated on the first wave, which is conservative), the "
        "minimum detectable effect on '{outcome}' with {power} power is {mde} ({mde_sd} "
        "standard deviations).",
    ),
    "needed": ("Pour détecter {effect} écart-type, il faudrait {needed} sites.",
               "Detecting {effect} standard deviations would need {needed} sites."),
    "power_xlabel": ("nombre de sites", "number of sites"),
    "power_ylabel": ("puissance", "power"),
    "power_curve": ("puissance (formule analytique)", "power (analytic)"),
    "power_target": ("puissance de {pct}", "{pct} power"),
    "this_design": ("ce plan", "this design"),
    "power_figure": ("Puissance pour détecter {effect} écart-type selon le nombre de sites",
                     "Power to detect {effect} standard deviations by number of sites"),
}

SECTIONS = {
    "experiment": SectionSpec(
        "experiment", "table", _experiment, roles=("group", "cluster", "period"),
        optional_roles=("outcome", "outcomes", "covariates"),
        parameters={
            "level": ParamSpec(float, 0.95, "confidence level", minimum=0.5, maximum=0.999),
            "n_perm": ParamSpec(int, 0, "randomisation draws (0: every assignment when "
                                        "there are at most 20,000)", minimum=0),
            "did_method": ParamSpec(str, "imputation", "2x2 DiD estimator (linear in the "
                                    "outcome)", choices=("imputation", "reg")),
            "power": ParamSpec(float, 0.8, "target power", minimum=0.5, maximum=0.99),
            "effect_size": ParamSpec(float, 0.2, "effect (in SD) of the power curve",
                                     minimum=0.01),
        },
        text=TEXT,
        doc="randomisation-inference p-value beside the clustered-SE one; MDE and power"),
}
