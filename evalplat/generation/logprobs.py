"""Token log-probabilities: reading them in the OpenAI chat format and storing them compactly.

Stored per answer as columnar JSON, a few times smaller than the OpenAI format because token
strings and keys are not repeated per alternative:

    {"tokens": ["He", "llo"], "logprobs": [-0.1, -2.3],
     "top_tokens": [["He", "Hi"], ["llo", "y"]], "top_logprobs": [[-0.1, -2.5], [-2.3, -0.4]]}

Log-probabilities are rounded to 4 decimals (finer than float16, and what a context-distillation
loss can use). The alternatives at each position are best first.
"""
from evalplat.generation.backends.base import TokenLogprob

DECIMALS = 4


def from_openai(items):
    """[TokenLogprob] from OpenAI's choices[0].logprobs.content; ValueError if it has another shape."""
    if not isinstance(items, list):
        raise ValueError("expected a list of {token, logprob, top_logprobs}")
    try:
        return [
            TokenLogprob(
                token=str(item["token"]),
                logprob=float(item["logprob"]),
                # Best first, whatever the server's order: vLLM's server puts the sampled token first.
                top=tuple(sorted(((str(alt["token"]), float(alt["logprob"])) for alt in item.get("top_logprobs") or ()),
                                 key=lambda alt: -alt[1])),
            )
            for item in items
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"expected a list of {{token, logprob, top_logprobs}} ({type(exc).__name__}: {exc})") from None


def pack(token_logprobs):
    """The stored form of a [TokenLogprob], or None when there are none."""
    if not token_logprobs:
        return None
    return {
        "tokens": [t.token for t in token_logprobs],
        "logprobs": [round(t.logprob, DECIMALS) for t in token_logprobs],
        "top_tokens": [[token for token, _ in t.top] for t in token_logprobs],
        "top_logprobs": [[round(lp, DECIMALS) for _, lp in t.top] for t in token_logprobs],
    }


def unpack(packed):
    """[TokenLogprob] from the stored form."""
    if not packed:
        return []
    return [
        TokenLogprob(token, logprob, tuple(zip(top_tokens, top_logprobs)))
        for token, logprob, top_tokens, top_logprobs in zip(
            packed["tokens"], packed["logprobs"], packed["top_tokens"], packed["top_logprobs"])
    ]
