"""State colours: a qualitative, colour-blind-safe default palette and its checks.

Up to eight states take the Okabe & Ito (2008) palette (its black replaced by a light
grey, which reads as "no particular state" in index plots); nine states take Paul Tol's
"muted" scheme (Tol 2021). Both keep every pair of colours apart in CIELAB for normal
vision and under simulated protanopia, deuteranopia and tritanopia (Machado, Oliveira &
Fernandes 2009, severity 1). No qualitative palette of ten or more colours stays
distinguishable under colour-vision deficiencies: beyond nine states the palette
continues with Tol's "light" scheme and :func:`default_colors` warns.

The CPAS alphabet keeps a fixed assignment of the same eight colours (jobs in greens and
blues, benefits in oranges), so its figures are comparable across reports.
"""

from __future__ import annotations

import warnings
from itertools import combinations

import numpy as np

from evalkit.errors import EvalkitWarning

OKABE_ITO: tuple[str, ...] = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
                              "#D55E00", "#CC79A7", "#DDDDDD")
TOL_MUTED: tuple[str, ...] = ("#CC6677", "#332288", "#DDCC77", "#117733", "#88CCEE",
                              "#882255", "#44AA99", "#999933", "#AA4499")
TOL_LIGHT: tuple[str, ...] = ("#77AADD", "#EE8866", "#EEDD88", "#FFAABB", "#99DDFF",
                              "#44BB99", "#BBCC33", "#AAAA00", "#DDDDDD")

#: Colours of the CPAS states (the Okabe-Ito colours, assigned by meaning).
CPAS_COLORS: dict[str, str] = {
    "FT": "#009E73", "PT": "#56B4E9", "SE": "#0072B2", "ACT": "#F0E442",
    "UB": "#E69F00", "RIS": "#D55E00", "ALW": "#CC79A7", "INA": "#DDDDDD",
}

#: Colour-vision deficiency simulation matrices on linear RGB (Machado et al. 2009,
#: severity 1.0).
CVD_MATRICES: dict[str, np.ndarray] = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


class PaletteWarning(EvalkitWarning):
    """More states than a colour-blind-safe qualitative palette can tell apart."""


def default_colors(alphabet) -> dict[str, str]:
    """A colour per state of ``alphabet`` (see the module docstring for the choice)."""
    alphabet = [str(s) for s in alphabet]
    if alphabet and set(alphabet) <= set(CPAS_COLORS):
        return {s: CPAS_COLORS[s] for s in alphabet}
    n = len(alphabet)
    if n <= len(OKABE_ITO):
        pool = OKABE_ITO
    elif n <= len(TOL_MUTED):
        pool = TOL_MUTED
    else:
        warnings.warn(
            f"{n} states: no qualitative palette keeps more than 9 colours distinguishable "
            "for colour-blind readers; consider grouping states, or pass colors= to the "
            "Sequences", PaletteWarning, stacklevel=2)
        pool = TOL_MUTED + TOL_LIGHT
    return {s: pool[i % len(pool)] for i, s in enumerate(alphabet)}


def sequence_colors(seq) -> dict[str, str]:
    """The colours of ``seq``'s states: those it carries, else the default palette."""
    own = getattr(seq, "colors", {}) or {}
    default = default_colors(seq.alphabet)
    return {s: own.get(s, default[s]) for s in seq.alphabet}


def _linear_rgb(colors) -> np.ndarray:
    from matplotlib.colors import to_rgb

    srgb = np.array([to_rgb(c) for c in colors])
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def cielab(colors, deficiency: str | None = None) -> np.ndarray:
    """CIELAB (D65) coordinates of matplotlib colours, optionally as seen with a
    colour-vision ``deficiency`` (``"protanopia"``, ``"deuteranopia"``, ``"tritanopia"``)."""
    rgb = _linear_rgb(colors)
    if deficiency is not None:
        rgb = np.clip(rgb @ CVD_MATRICES[deficiency].T, 0.0, 1.0)
    to_xyz = np.array([[0.4124564, 0.3575761, 0.1804375],
                       [0.2126729, 0.7151522, 0.0721750],
                       [0.0193339, 0.1191920, 0.9503041]])
    xyz = rgb @ to_xyz.T / np.array([0.95047, 1.0, 1.08883])
    eps = (6 / 29) ** 3
    f = np.where(xyz > eps, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.column_stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]),
                            200 * (f[:, 1] - f[:, 2])])


def min_color_distance(colors, deficiency: str | None = None) -> float:
    """Smallest CIELAB distance (Delta E 1976) between two of ``colors``."""
    lab = cielab(list(colors), deficiency)
    return min((float(np.linalg.norm(lab[i] - lab[j]))
                for i, j in combinations(range(len(lab)), 2)), default=np.inf)
