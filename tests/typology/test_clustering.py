"""Ward, PAM and CLARA: vs sequenzo 0.1.42 (fastcluster ward.D, WeightedCluster PAM) and brute force."""

import contextlib
import io
import itertools

import numpy as np
import pytest
from mvad_reference import codes, load_mvad, month_columns
from numpy.testing import assert_allclose
from scipy.spatial.distance import pdist, squareform

from evalkit.errors import DataValidationError
from evalkit.options import OptionError
from evalkit.typology.cluster_quality import adjusted_rand_index
from evalkit.typology.clustering import clara, medoids_of, pam, ward
from evalkit.typology.distances import sequence_distances


@pytest.fixture(scope="module")
def mvad_om():
    df = load_mvad()
    return sequence_distances(codes(df, month_columns(df, False)), method="OM", sm="TRATE", indel="auto")


def _total_cost(D, medoids, w=None):
    w = np.ones(D.shape[0]) if w is None else w
    return float((w * D[:, list(medoids)].min(axis=1)).sum())


def test_ward_d_equals_sequenzo_ward_d(mvad_om):
    hc = pytest.importorskip("sequenzo.clustering.hierarchical_clustering")
    with contextlib.redirect_stdout(io.StringIO()):
        ref = hc.Cluster(squareform(mvad_om), clustering_method="ward_d")
    tree = ward(mvad_om)
    # same merge heights (R hclust ward.D scale) and the same partitions
    assert_allclose(np.sort(tree.linkage[:, 2]), np.sort(ref.linkage_matrix[:, 2]), rtol=1e-9)
    for k in range(2, 11):
        assert adjusted_rand_index(tree.labels(k), ref.get_cluster_labels(k)) == 1.0


def test_ward_d2_is_scipy_ward():
    x = np.random.default_rng(0).normal(size=(40, 3))
    d = pdist(x)
    from scipy.cluster.hierarchy import fcluster, linkage

    ref = fcluster(linkage(x, "ward"), 4, "maxclust")
    assert adjusted_rand_index(ward(d, variant="D2").labels(4), ref) == 1.0
    with pytest.raises(OptionError, match="variant='CENTROID'.*'D', 'D2'"):
        ward(d, variant="centroid")


@pytest.mark.parametrize("k", [3, 5, 7, 9])
def test_pam_objective_equals_sequenzo_pam(mvad_om, k):
    km = pytest.importorskip("sequenzo.clustering.k_medoids")
    with contextlib.redirect_stdout(io.StringIO()):
        ref = km.KMedoids(mvad_om, k, method="PAM", verbose=False)
    D = squareform(mvad_om)
    ref_cost = _total_cost(D, np.unique(ref) - 1)  # sequenzo returns 1-based medoid rows
    mine = pam(mvad_om, k)
    assert mine.cost == pytest.approx(ref_cost, rel=1e-12)
    assert mine.cost == pytest.approx(_total_cost(D, mine.medoids), rel=1e-12)
    assert np.all(D[np.arange(712), mine.medoids[mine.labels - 1]] == D[:, mine.medoids].min(axis=1))


@pytest.mark.parametrize("seed", range(8))
def test_pam_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(11, 2))
    w = rng.uniform(0.5, 2.0, size=11)
    D = squareform(pdist(x))
    for k in (2, 3, 4):
        best = min(_total_cost(D, c, w) for c in itertools.combinations(range(11), k))
        got = pam(pdist(x), k, weights_array=w)
        assert got.cost >= best - 1e-12
        # PAM is a local search: no single swap of a medoid improves its result
        for i, h in itertools.product(range(k), range(11)):
            trial = got.medoids.copy()
            trial[i] = h
            if len(set(trial)) == k:
                assert _total_cost(D, trial, w) >= got.cost - 1e-12
    # well-separated groups: the global optimum
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    y = np.vstack([c + rng.normal(scale=0.5, size=(4, 2)) for c in centres])
    Dy = squareform(pdist(y))
    best = min(_total_cost(Dy, c) for c in itertools.combinations(range(12), 3))
    assert pam(pdist(y), 3).cost == pytest.approx(best, rel=1e-12)


def test_pam_initial_and_medoids_of(mvad_om):
    labels = ward(mvad_om).labels(6)
    start = medoids_of(mvad_om, labels)
    refined = pam(mvad_om, 6, initial=start)
    D = squareform(mvad_om)
    assert refined.cost <= _total_cost(D, start) + 1e-9
    assert refined.cost == pytest.approx(_total_cost(D, refined.medoids), rel=1e-12)


def test_clara_close_to_pam_without_full_matrix():
    df = load_mvad()
    x = codes(df, month_columns(df, False))
    full = pam(sequence_distances(x, method="OM", sm="TRATE", indel="auto"), 5)
    approx = clara(x, 5, method="OM", sm="TRATE", indel="auto", n_samples=5, sample_size=200, seed=1)
    assert approx.labels.shape == (712,) and set(approx.labels) == set(range(1, 6))
    # CLARA optimises the same criterion on samples: within 10 % of full PAM on mvad
    assert full.mean_distance <= approx.mean_distance <= 1.10 * full.mean_distance
    # reported criterion is the true mean distance to the chosen medoids
    D = squareform(sequence_distances(x, method="OM", sm="TRATE", indel="auto"))
    assert approx.mean_distance == pytest.approx(_total_cost(D, approx.medoids) / 712, rel=1e-12)
    again = clara(x, 5, method="OM", sm="TRATE", indel="auto", n_samples=5, sample_size=200, seed=1)
    assert np.array_equal(again.labels, approx.labels)  # reproducible for a seed


def test_clara_draws_100_samples_by_default_and_reuses_medoid_distances():
    df = load_mvad().head(200)
    x = codes(df, month_columns(df, False))
    d = sequence_distances(x, method="OM", sm="TRATE", indel="auto")
    full = pam(d, 4)
    few = clara(x, 4, method="OM", sm="TRATE", indel="auto", n_samples=5, seed=2)
    many = clara(x, 4, method="OM", sm="TRATE", indel="auto", seed=2)  # WeightedCluster's R = 100
    assert many.n_iter == 100 and len(many.sample_costs) == 100
    # Distances to medoids come from the cache after the first samples: the criterion is
    # still the true mean distance to the chosen medoids.
    D = squareform(d)
    assert many.mean_distance == pytest.approx(_total_cost(D, many.medoids) / 200, rel=1e-12)
    # The same first 5 samples, then 95 more: never worse, and within 5 % of full PAM
    # (PAM's swaps stop at a local optimum: on these 200 careers CLARA finds a lower one).
    assert many.mean_distance <= few.mean_distance + 1e-12
    assert many.mean_distance <= 1.05 * full.mean_distance


def test_clustering_errors():
    d = pdist(np.array([[0.0], [0.0], [1.0]]))
    with pytest.raises(DataValidationError, match="distinct sequences"):
        pam(d, 3)
    with pytest.raises(DataValidationError, match="only 3 items"):
        pam(d, 4)
    with pytest.raises(DataValidationError, match="n\\(n-1\\)/2"):
        pam(np.ones(4), 2)
    with pytest.raises(DataValidationError, match="distinct sequences"):
        clara(np.array([[0, 1], [0, 1], [1, 1]]), 3)
    with pytest.raises(DataValidationError, match="finite"):
        ward(np.array([1.0, np.nan, 2.0]))


@pytest.mark.parametrize("variant", ["D", "D2"])
def test_weighted_ward_on_distinct_sequences_equals_ward_on_everyone(variant):
    from evalkit.typology.distances import unique_sequence_distances

    df = load_mvad()
    u = unique_sequence_distances(codes(df, month_columns(df, False)), method="OM", sm="TRATE", indel="auto")
    everyone = ward(u.expand(), variant=variant)
    distinct = ward(u.condensed, variant=variant, weights_array=u.counts)
    for k in range(2, 13):
        assert adjusted_rand_index(everyone.labels(k), distinct.labels(k)[u.inverse]) == 1.0
    # the last merges (between distinct sequences) happen at the same heights
    top = u.n_unique - 1
    assert_allclose(np.sort(everyone.linkage[:, 2])[-top:], np.sort(distinct.linkage[:, 2]),
                    rtol=1e-9, atol=1e-9)
    # unit weights: the nearest-neighbour chain reproduces scipy's tree (tied low-level merges
    # may be taken in another order, so compare the partitions and the upper merges)
    unit = ward(u.condensed, variant=variant, weights_array=np.ones(u.n_unique))
    plain = ward(u.condensed, variant=variant)
    assert_allclose(np.sort(unit.linkage[:, 2])[-30:], np.sort(plain.linkage[:, 2])[-30:],
                    rtol=1e-9, atol=1e-9)
    for k in range(2, 13):
        assert adjusted_rand_index(unit.labels(k), plain.labels(k)) == 1.0
