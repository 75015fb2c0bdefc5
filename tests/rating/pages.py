"""Where a rater's POST moved them on to: a submit, a problem report or consent answers with the next
item's page itself (at the posted address), or redirects to the end of the session."""
from benchmarks import load_raters


def moved_on(status, location, page):
    """Where a POST answered with `status`, `location` and `page` led (load_raters.moved_on_to); fails on any
    other answer."""
    where = load_raters.moved_on_to(status, location, page)
    assert where, (status, page[:800])
    return where


def moved_on_to(response):
    """The address of the item whose page the test client's `response` is, or where it redirects."""
    return moved_on(response.status_code, response.get("Location"), response.content.decode())
