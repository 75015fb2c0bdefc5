"""Where a rater's POST moved them on to: a submit, a problem report or consent answers with the next
item's page itself (at the posted address), or redirects to the end of the session."""
from benchmarks import load_raters


def moved_on_to(response):
    """The address of the item whose page the test client's `response` is, or where it redirects."""
    where = load_raters.moved_on_to(response.status_code, response.get("Location"), response.content.decode())
    assert where, (response.status_code, response.content[:800])
    return where
