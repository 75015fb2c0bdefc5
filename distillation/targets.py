"""Sparse teacher distributions (top k + a tail bucket) and the KL losses over them (torch).

A teacher's next-token distribution p over a vocabulary of V tokens is stored as its k most
probable tokens S and the mass left over, t = 1 - sum_{i in S} p_i. The student's distribution q
is read on the same k + 1 outcomes (q_i for i in S, and q_tail = 1 - sum_{i in S} q_i), and the
loss is the exact KL between the two coarse distributions:

    KL_k(p || q) = sum_{i in S} p_i log(p_i / q_i) + t log(t / q_tail).

It never exceeds the full KL(p || q) (merging outcomes loses information: the log-sum
inequality), and it is zero exactly when q agrees with p on S and on the total of the rest. What
it leaves out is how the tail mass is spread, which the measurement in benchmarks/bench_topk.py
sizes. Renormalising the top k alone instead (dropping t) is what Anshumann et al. (ACL 2025,
"Sparse Logit Sampling") show to be biased: it asks the student to put all its mass on S.
"""
import torch

TAIL_FLOOR = -30.0  # as in evalplat.generation.backends.base: log of "no measurable mass left"
_LOG_HALF = -0.6931471805599453


def log1mexp(x):
    """log(1 - exp(x)) for x <= 0, accurate at both ends (Maechler 2012)."""
    return torch.where(x > _LOG_HALF, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def tail_of(top_logprobs):
    """log of the mass outside the given log-probabilities (last axis), floored."""
    total = torch.logsumexp(top_logprobs, dim=-1).clamp(max=-1e-12)
    return log1mexp(total).clamp(min=TAIL_FLOOR)


def sparse_target(logprobs, k):
    """(ids [..., k], log-probabilities [..., k + 1]) of a full log-distribution: top k, then the tail."""
    top, ids = logprobs.topk(k, dim=-1)
    return ids, torch.cat([top, tail_of(top)[..., None]], dim=-1)


def normalised(log_target):
    """Stored values are rounded to 4 decimals: renormalise the k + 1 outcomes to sum to one."""
    return log_target - torch.logsumexp(log_target, dim=-1, keepdim=True)


def bucketed(logprobs, ids):
    """A full log-distribution [..., V] read on the outcomes of a sparse target: [..., k + 1]."""
    top = logprobs.gather(-1, ids)
    return torch.cat([top, tail_of(top)[..., None]], dim=-1)


def bucketed_kl(student_logprobs, ids, log_target):
    """KL_k(teacher || student) per position, from the student's full log-distribution."""
    student = bucketed(student_logprobs, ids)
    return (log_target.exp() * (log_target - student)).sum(-1)


def full_kl(teacher_logprobs, student_logprobs):
    """KL(teacher || student) over the whole vocabulary, per position."""
    return (teacher_logprobs.exp() * (teacher_logprobs - student_logprobs)).sum(-1)
