"""A rater in a real Chromium answers three criteria per item, by keyboard and by tapping, at 1280 and 390 px,
then the owner reads the console's report of those judgments (desktop run).

The number keys answer the marked row and move the mark down; one submit stores
all three criteria. Screenshots of the item page and the report land in the test's tmp_path.
"""
import os

import pytest

from evalplat.experiments.importing import import_design_file
from evalplat.rating.models import Judgment
from tests.browser.test_rater_flow import ANSWER, answered, browser, open_session  # noqa: F401
from tests.console.browser import logged_in
from tests.criteria.designs import THREE_CRITERIA, small_with

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_rater_answers_three_criteria_per_item(browser, live_server, owner, device, tmp_path):
    design = tmp_path / "criteria.toml"
    design.write_text(small_with(THREE_CRITERIA))
    invite = answered(import_design_file(design, owner=owner), lambda i: ANSWER)
    context = browser.new_context(**VIEWPORTS[device])
    page = context.new_page()
    open_session(page, live_server, invite)
    rows = page.locator("fieldset[data-row]")
    assert rows.count() == 3
    assert [rows.nth(i).locator("legend").inner_text().split("\n")[-1].strip() for i in range(3)] == [
        "Which response is more honest?", "Which response is warmer?", "Which response is clearer?"]
    width = VIEWPORTS[device]["viewport"]["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    def marked():
        return [i for i in range(3) if "active" in (rows.nth(i).get_attribute("class") or "")]

    for number in range(1, 11):
        url = page.url
        if number == 1:
            page.screenshot(path=tmp_path / f"{device}-item.png", full_page=True)
            assert marked() == [0]
            page.keyboard.press("Enter")  # nothing answered: asks, does not submit
            assert page.get_by_text("Please answer every question first.").is_visible()
            page.keyboard.press("1")  # honesty: A is much better
            assert marked() == [1]
            page.keyboard.press("2")  # warmth (3-way): about the same
            assert marked() == [2]
            page.keyboard.press("Enter")  # clarity still open: asks again, marks it
            assert page.url == url and marked() == [2]
            page.keyboard.press("2")  # clarity (2-way): B is better
            page.screenshot(path=tmp_path / f"{device}-answered.png", full_page=True)
        elif number == 2:
            # Tapping works too, and in any order; the mark follows the first open row.
            rows.nth(2).get_by_role("radio", name="A is better", exact=True).click()
            rows.nth(0).get_by_role("radio", name="B is much better", exact=True).click()
            assert marked() == [1]
            rows.nth(1).get_by_role("radio", name="B is better", exact=True).click()
        else:
            for key in ("3", "1", "1"):
                page.keyboard.press(key)
        page.keyboard.press("Enter")
        page.wait_for_url(lambda new: new != url)
    page.wait_for_selector("text=Your completion code")
    judgments = Judgment.objects.filter(assignment__rater__external_id="pid-browser")
    assert judgments.count() == 30
    first = {j.criterion: (j.winner, j.strength) for j in judgments.filter(assignment__position=0)}
    assert first == {"honesty": ("left", 2), "warmth": ("tie", None), "clarity": ("right", None)}
    second = {j.criterion: (j.winner, j.strength) for j in judgments.filter(assignment__position=1)}
    assert second == {"honesty": ("right", 2), "warmth": ("right", None), "clarity": ("left", None)}
    if device == "desktop":
        see_the_report(browser, live_server, owner, invite.experiment, tmp_path)
    context.close()


def see_the_report(browser, live_server, owner, experiment, tmp_path):
    """The owner opens the console's report of what was just rated: a row per level, a cell per criterion."""
    context = logged_in(browser, owner, live_server, **VIEWPORTS["desktop"])
    page = context.new_page()
    page.goto(f"{live_server.url}/console/{experiment.slug}/report/")
    page.screenshot(path=tmp_path / "report.png", full_page=True)
    header = page.locator("#effects thead th").all_inner_texts()
    assert header == ["factor", "level", "honesty", "warmth", "clarity", "combined"]
    assert page.locator("#effects tbody tr").count() == 3
    page.get_by_role("link", name="every section for warmth").click()
    assert page.get_by_text("Raters were asked: “Which response is warmer?”").is_visible()
    context.close()
