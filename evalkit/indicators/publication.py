"""Indicator tables fit for publication: disclosure control and report formatting.

Disclosure control is delegated to :mod:`evalkit.disclosure` (shared with the
report builder): counts of people under the threshold (default 11) are
masked, with secondary suppression so that no masked cell can be recovered
from the published cells and totals.
"""

from __future__ import annotations

import pandas as pd

from evalkit.disclosure import DEFAULT_THRESHOLD, suppress_long
from evalkit.indicators.cells import ALL, MISSING
from evalkit.options import check_option, renamed

DEPENDENT = ["n", "n_persons", "numerator", "denominator", "estimate", "std_error",
             "ci_lower", "ci_upper"]

DIMENSION_LABELS = {
    "sex": ("Sexe", "Sex"),
    "age_band": ("Tranche d'âge", "Age band"),
    "territory": ("Territoire", "Territory"),
    "period": ("Période", "Period"),
    "status": ("Statut", "Status"),
}


@renamed(person_id="id")
def publishable_frame(tidy: pd.DataFrame, indicators: dict, dimensions: dict, *,
                      id: str | None = None, threshold: int = DEFAULT_THRESHOLD,  # noqa: A002
                      protect_numerator: bool = True) -> pd.DataFrame:
    """The tidy indicator frame with small cells masked.

    For each indicator and each grouping set (the full cross and each
    margin), the population count of every cell -- distinct persons when a
    person id was given, rows otherwise -- goes through
    :func:`evalkit.disclosure.suppress_long` laid out as a two-way table (the
    set's last dimension as columns): primary suppression under
    ``threshold`` and secondary suppression against the set's totals. For
    proportions with ``protect_numerator`` the numerator count (people with
    the attribute) and its complement (people without it) are protected the
    same way, zeros allowed, and the masks are combined. Masked cells lose their counts, estimates and
    intervals; the ``masked`` column flags them.

    Protection holds within each published two-way layout; relations across
    grouping sets of three or more dimensions are not checked (the limit
    stated in :mod:`evalkit.disclosure`).
    """
    tidy = tidy.copy()
    tidy["masked"] = False
    count_col = "n_persons" if id is not None else "n"
    for name, indicator in indicators.items():
        dims = dimensions[name]
        sub = tidy[tidy["indicator"] == name]
        if dims:
            keys = sub[dims].ne(ALL).apply(tuple, axis=1)
        else:
            keys = pd.Series([()] * len(sub), index=sub.index)
        for key in dict.fromkeys(keys):
            idx = keys.index[keys == key]
            block = sub.loc[idx]
            active = [d for d, on in zip(dims, key, strict=True) if on]
            mask = _mask(block, count_col, active, threshold, mask_zeros=True)
            if protect_numerator and indicator.kind == "proportion":
                mask |= _mask(block, "numerator", active, threshold, mask_zeros=False)
                # 68 % of 25 also says 8 people are without the attribute: the complement
                # (denominator - numerator) is a count of people too.
                complement = block.assign(
                    numerator=block["denominator"].astype(float)
                    - block["numerator"].astype(float))
                mask |= _mask(complement, "numerator", active, threshold, mask_zeros=False)
            tidy.loc[idx[mask.to_numpy()], "masked"] = True
    for col in DEPENDENT:
        tidy[col] = tidy[col].astype(float).mask(tidy["masked"])
    return tidy


def _mask(block: pd.DataFrame, count_col: str, active: list[str], threshold: int,
          mask_zeros: bool) -> pd.Series:
    counts = block[[*active, count_col]].copy()
    counts[count_col] = counts[count_col].astype(float).round()
    if not active:
        value = counts[count_col].iloc[0]
        small = value < threshold and (mask_zeros or value != 0)
        return pd.Series(bool(small), index=block.index)
    rows, column = (active[:-1], active[-1]) if len(active) > 1 else (active, None)
    _, mask = suppress_long(counts, count_col, rows=rows, column=column, dependent=[],
                            threshold=threshold, mask_zeros=mask_zeros)
    return mask.reindex(block.index).fillna(False).astype(bool)


@renamed(person_id="id")
def report_table(published: pd.DataFrame, indicators: dict, dimensions: dict, *,
                 id: str | None = None, lang: str = "en",  # noqa: A002
                 threshold: int = DEFAULT_THRESHOLD, digits: int = 1,
                 level: float = 0.95) -> pd.DataFrame:
    """Formatted table for a report from a :func:`publishable_frame`.

    Columns: indicator label, the disaggregations (``Ensemble``/``All`` in
    margins, ``Non renseigné``/``Not known`` for missing values), ``N`` (people,
    or rows without a person id), value with its unit and confidence interval
    as strings with French or English number formatting. Masked cells show
    ``"< 11"`` (the threshold) as N and nothing else.
    """
    check_option("lang", lang, ("fr", "en"))
    fr = lang == "fr"
    all_label = "Ensemble" if fr else "All"
    missing_label = "Non renseigné" if fr else "Not known"
    dims = list(dict.fromkeys(d for ds in dimensions.values() for d in ds))
    count_col = "n_persons" if id is not None else "n"
    dec = "," if fr else "."

    def fmt(v, nd=digits):
        return "" if pd.isna(v) else f"{v:,.{nd}f}".replace(",", " ").replace(".", dec)

    out = pd.DataFrame({("Indicateur" if fr else "Indicator"):
                        published["label_fr" if fr else "label_en"]})
    for d in dims:
        col = published[d] if d in published.columns else pd.Series(ALL, index=published.index)
        col = col.fillna(ALL).replace({ALL: all_label, MISSING: missing_label})
        out[DIMENSION_LABELS.get(d, (d, d))[0 if fr else 1]] = col
    masked = published["masked"]
    out["N"] = [f"< {threshold}" if m else fmt(v, 0)
                for v, m in zip(published[count_col], masked, strict=True)]
    units = {n: i.unit(lang) for n, i in indicators.items()}
    out["Valeur" if fr else "Value"] = [
        "" if m else (fmt(v) + (f" {units[i]}" if units[i] else ""))
        for v, m, i in zip(published["estimate"], masked, published["indicator"], strict=True)
    ]
    pct = f"{level:.0%}".replace("%", " %") if fr else f"{level:.0%}"
    out[f"IC {pct}" if fr else f"{pct} CI"] = [
        "" if m or pd.isna(lo) else f"[{fmt(lo)} ; {fmt(hi)}]"
        for lo, hi, m in zip(published["ci_lower"], published["ci_upper"], masked, strict=True)
    ]
    return out
