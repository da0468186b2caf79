"""Trajectory typology: state sequences, the seven CPAS career types, distances, clustering.

``RuleTypology(sequences).fit()`` sorts careers into the seven types of the CPAS
"activation durable" study by explicit, configurable rules (:class:`CareerRules`);
descriptives, optimal-matching / Hamming / DHD / LCS distances, Ward / PAM / CLARA
clustering with quality indices, and a multinomial logit of type membership complete it.
"""

from evalkit.typology.cluster_quality import (
    QUALITY_INDICES,
    KChoice,
    PartitionComparison,
    adjusted_rand_index,
    choose_k,
    cluster_quality,
    compare_partitions,
    quality_range,
    silhouette,
)
from evalkit.typology.clustering import MedoidPartition, WardTree, clara, medoids_of, pam, ward
from evalkit.typology.costs import (
    constant_costs,
    transition_count_matrix,
    transition_rate_matrix,
    trate_costs,
)
from evalkit.typology.descriptives import (
    cross_sectional_entropy,
    indicators_by_group,
    longitudinal_entropy,
    mean_time_in_state,
    modal_states,
    sequence_indicators,
    state_distribution,
    transition_rates,
    turbulence,
)
from evalkit.typology.discrepancy import DiscrepancyResults, discrepancy_analysis
from evalkit.typology.distances import (
    NORMS,
    DistanceMatrixTooLargeError,
    UniqueDistances,
    sequence_distances,
    unique_sequence_distances,
)
from evalkit.typology.effects import TrajectoryEffects, trajectory_effects
from evalkit.typology.explain import TypeMembershipModel, TypeMembershipResults
from evalkit.typology.null_quality import NullQuality, null_cluster_quality
from evalkit.typology.omspell import omspell_distances
from evalkit.typology.palette import default_colors, min_color_distance
from evalkit.typology.plots import (
    frequent_sequences,
    plot_chronogram,
    plot_frequent,
    plot_index,
    plot_mean_time,
    plot_modal_states,
    plot_quality_range,
    plot_representative,
    plot_transition_rates,
    plot_type_shares,
    representative_sequences,
    state_colors,
)
from evalkit.typology.rules import CareerRules, RuleTypology, RuleTypologyResults, classify_matrix
from evalkit.typology.states import (
    CAREER_TYPE_CODES,
    CAREER_TYPES,
    CPAS_ALPHABET,
    CPAS_STATES,
    EMPLOYMENT_STATES,
    STUDY_SHARES,
    as_sequences,
    career_type_labels,
    state_labels,
)
from evalkit.typology.twed import twed_distances

__all__ = [
    "CAREER_TYPES",
    "CAREER_TYPE_CODES",
    "CPAS_ALPHABET",
    "CPAS_STATES",
    "CareerRules",
    "DiscrepancyResults",
    "DistanceMatrixTooLargeError",
    "EMPLOYMENT_STATES",
    "KChoice",
    "MedoidPartition",
    "NORMS",
    "NullQuality",
    "PartitionComparison",
    "QUALITY_INDICES",
    "RuleTypology",
    "RuleTypologyResults",
    "STUDY_SHARES",
    "TrajectoryEffects",
    "TypeMembershipModel",
    "TypeMembershipResults",
    "UniqueDistances",
    "WardTree",
    "adjusted_rand_index",
    "as_sequences",
    "career_type_labels",
    "choose_k",
    "clara",
    "classify_matrix",
    "cluster_quality",
    "compare_partitions",
    "constant_costs",
    "cross_sectional_entropy",
    "default_colors",
    "discrepancy_analysis",
    "frequent_sequences",
    "min_color_distance",
    "plot_frequent",
    "plot_modal_states",
    "plot_quality_range",
    "plot_representative",
    "representative_sequences",
    "indicators_by_group",
    "longitudinal_entropy",
    "mean_time_in_state",
    "medoids_of",
    "modal_states",
    "null_cluster_quality",
    "omspell_distances",
    "pam",
    "plot_chronogram",
    "plot_index",
    "plot_mean_time",
    "plot_transition_rates",
    "plot_type_shares",
    "quality_range",
    "sequence_distances",
    "sequence_indicators",
    "silhouette",
    "state_colors",
    "state_distribution",
    "state_labels",
    "transition_count_matrix",
    "transition_rate_matrix",
    "transition_rates",
    "trajectory_effects",
    "trate_costs",
    "turbulence",
    "twed_distances",
    "unique_sequence_distances",
    "ward",
]
