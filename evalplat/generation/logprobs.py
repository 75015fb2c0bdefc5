"""Token log-probabilities: reading them in the OpenAI chat format and storing them compactly.

Stored per answer as columnar JSON, a few times smaller than the OpenAI format because token
strings and keys are not repeated per alternative:

    {"tokens": ["He", "llo"], "logprobs": [-0.1, -2.3],
     "top_tokens": [["He", "Hi"], ["llo", "y"]], "top_logprobs": [[-0.1, -2.5], [-2.3, -0.4]],
     "token_ids": [71, 203], "top_ids": [[71, 88], [203, 9]], "tail_logprobs": [-4.1, -1.2]}

What the numbers are: the log-probabilities of the model's *raw* next-token distribution (the
softmax of its logits at temperature 1, before penalties, temperature, top-k/top-p or min-p),
which is what a distillation target needs; the sampled token was drawn from the processed one.
The `vllm` backend pins vLLM's `logprobs_mode = "raw_logprobs"` (also vLLM 0.32's default, and
its OpenAI server's). The alternatives at each position are best first (vLLM's top k by rank).

`token_ids`/`top_ids` (the vocabulary ids, which a training loss indexes by; a decoded string
cannot be mapped back to one id for byte-level tokens) and `tail_logprobs` (the log of the
probability mass outside the stored alternatives, 1 - sum(exp(top)), computed before rounding)
were added later: rows stored before them lack these keys and still read, with ids None and the
tail recomputed from the rounded alternatives. Together, top k + tail is a distribution over
k + 1 outcomes that a KL loss can match exactly (the top k alone, renormalised, is biased:
Anshumann et al., ACL 2025). Log-probabilities are rounded to 4 decimals (finer than float16);
a tail too small to measure is stored as base.TAIL_FLOOR (-30).
"""
from evalplat.generation.backends.base import TokenLogprob, tail_logprob

DECIMALS = 4
TOKEN_ID_PREFIX = "token_id:"  # how vLLM's server spells a token with return_tokens_as_token_ids


def from_openai(items):
    """[TokenLogprob] from OpenAI's choices[0].logprobs.content; ValueError if it has another shape.

    Tokens spelled "token_id:N" (vLLM's server with return_tokens_as_token_ids) give their id and
    an empty string: the server sends one or the other.
    """
    if not isinstance(items, list):
        raise ValueError("expected a list of {token, logprob, top_logprobs}")
    try:
        out = []
        for item in items:
            token, token_id = _token(item["token"])
            # Best first, whatever the server's order: vLLM's server puts the sampled token first.
            alternatives = sorted(((*_token(alt["token"]), float(alt["logprob"])) for alt in item.get("top_logprobs") or ()),
                                  key=lambda alt: -alt[2])
            ids = tuple(alt_id for _, alt_id, _ in alternatives)
            out.append(TokenLogprob(
                token=token, logprob=float(item["logprob"]),
                top=tuple((alt_token, lp) for alt_token, _, lp in alternatives),
                token_id=token_id,
                top_ids=ids if alternatives and None not in ids else (),
                tail_logprob=tail_logprob([lp for _, _, lp in alternatives]) if alternatives else None,
            ))
        return out
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"expected a list of {{token, logprob, top_logprobs}} ({type(exc).__name__}: {exc})") from None


def _token(spelled):
    """(string, id or None) of a token as the server spelled it."""
    spelled = str(spelled)
    if spelled.startswith(TOKEN_ID_PREFIX) and spelled[len(TOKEN_ID_PREFIX):].isdigit():
        return "", int(spelled[len(TOKEN_ID_PREFIX):])
    return spelled, None


def pack(token_logprobs):
    """The stored form of a [TokenLogprob], or None when there are none.

    Ids are stored when every position has them, the tail whenever alternatives were returned.
    """
    if not token_logprobs:
        return None
    packed = {
        "tokens": [t.token for t in token_logprobs],
        "logprobs": [round(t.logprob, DECIMALS) for t in token_logprobs],
        "top_tokens": [[token for token, _ in t.top] for t in token_logprobs],
        "top_logprobs": [[round(lp, DECIMALS) for _, lp in t.top] for t in token_logprobs],
    }
    if all(t.token_id is not None and len(t.top_ids) == len(t.top) for t in token_logprobs):
        packed["token_ids"] = [t.token_id for t in token_logprobs]
        packed["top_ids"] = [list(t.top_ids) for t in token_logprobs]
    if any(t.top for t in token_logprobs):
        packed["tail_logprobs"] = [round(t.tail, DECIMALS) for t in token_logprobs]
    return packed


def unpack(packed):
    """[TokenLogprob] from the stored form (either version)."""
    if not packed:
        return []
    n = len(packed["tokens"])
    token_ids = packed.get("token_ids") or [None] * n
    top_ids = packed.get("top_ids") or [()] * n
    tails = packed.get("tail_logprobs") or [None] * n
    return [
        TokenLogprob(token, logprob, tuple(zip(top_tokens, top_logprobs)), token_id=token_id,
                     top_ids=tuple(ids), tail_logprob=tail)
        for token, logprob, top_tokens, top_logprobs, token_id, ids, tail in zip(
            packed["tokens"], packed["logprobs"], packed["top_tokens"], packed["top_logprobs"],
            token_ids, top_ids, tails)
    ]


def has_token_ids(packed):
    """Whether a stored form carries the vocabulary ids a distillation loss needs."""
    return bool(packed) and "token_ids" in packed and "top_ids" in packed
