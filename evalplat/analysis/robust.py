"""Cluster-robust (sandwich) covariance, two-way by query and by rater.

Judgments of one query share its answers (each answer's own quality is noise the model does not
see), and judgments of one rater share that rater's habits, so neither is independent.  The
two-way estimator of Cameron, Gelbach and Miller (2011, "Robust inference with multiway
clustering", JBES 29:238) adds the query-clustered and rater-clustered meats and subtracts the
meat clustered by their intersection:

    V = B (M_query + M_rater - M_query&rater) B,   B = inverse information.

Each meat gets the small-sample factor G / (G - 1); intervals use Student's t with
min(G_query, G_rater) - 1 degrees of freedom, the usual conservative choice when clusters are
few.  A negative eigenvalue (possible with two-way clustering) is clipped to zero, as CGM
suggest.  Judgments without a rater count as their own rater cluster, which makes the estimator
one-way by query when no rater is known.
"""
from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass(frozen=True)
class RobustVariance:
    covariance: np.ndarray
    df: int               # degrees of freedom for t intervals
    n_queries: int        # clusters of each kind
    n_raters: int


def cluster_sums(scores, codes, n_groups):
    """Per-cluster sums of score rows, as a sparse indicator matrix times the scores.

    The indicator is built by columns, one entry per score row, which needs no sort: built by
    rows it sorted a million judgments for each of the three meats and cost most of the variance."""
    n = len(codes)
    indicator = sparse.csc_matrix((np.ones(n), np.asarray(codes), np.arange(n + 1)), shape=(n_groups, n))
    return indicator @ scores


def _meat(scores, cluster):
    """Sum over clusters of (sum of the cluster's scores) outer itself, with G/(G-1).

    When most clusters hold one judgment (query x rater pairs: a rater seldom sees a query
    twice), that is every judgment's own outer product plus, for the few clusters of several,
    their sums' outer products less their members' own: a million clusters' sums were an
    array as large as the scores, written in random order, and cost 0.4 s at 1M judgments."""
    counts = np.bincount(cluster)
    groups = int(np.count_nonzero(counts))
    factor = groups / (groups - 1) if groups > 1 else 1.0
    # Products as factor * (S^T S), not (factor * S^T) @ S: numpy multiplies that transposed copy 10x slower.
    if groups > len(cluster) // 2:
        several = counts > 1
        shared = several[cluster]
        members = scores[shared]
        sums = cluster_sums(members, (np.cumsum(several) - 1)[cluster[shared]], int(several.sum()))
        return factor * (scores.T @ scores + sums.T @ sums - members.T @ members)
    sums = cluster_sums(scores, (np.cumsum(counts > 0) - 1)[cluster], groups)
    return factor * (sums.T @ sums)


def _clip_to_psd(matrix):
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.clip(values, 0, None)) @ vectors.T


def two_way_cluster_covariance(information, scores, query, rater):
    """Sandwich covariance; `scores` holds one (weighted) score row per judgment."""
    bread = np.linalg.inv(information)
    scores = np.ascontiguousarray(scores)   # once, not in each of the three sparse products
    own = np.arange(len(rater)) + rater.max(initial=-1) + 1
    rater_cluster = np.where(rater >= 0, rater, own)     # unknown rater: a cluster of one
    pair_cluster = query.astype(np.int64) * (rater_cluster.max(initial=0) + 1) + rater_cluster
    if pair_cluster.max(initial=0) > 16 * len(pair_cluster):
        # _meat numbers clusters by counting over their codes' range: too wide a range is sorted.
        pair_cluster = np.unique(pair_cluster, return_inverse=True)[1].reshape(-1)
    meat = _meat(scores, query) + _meat(scores, rater_cluster) - _meat(scores, pair_cluster)
    covariance = _clip_to_psd(bread @ meat @ bread)
    n_queries = int(np.count_nonzero(np.bincount(query)))
    n_raters = int(np.count_nonzero(np.bincount(rater[rater >= 0])))
    groups = n_queries if n_raters < 2 else min(n_queries, n_raters)
    return RobustVariance(covariance=covariance, df=max(groups - 1, 1), n_queries=n_queries, n_raters=n_raters)
