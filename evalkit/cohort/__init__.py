"""Cohort comparison: balance, propensity scores, matching, weighting, doubly robust, attrition."""
