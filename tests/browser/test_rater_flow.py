"""A rater in a real Chromium: study link → consent → ten judgments by keyboard → completion code.

Runs on a desktop and a phone viewport against pytest-django's live server,
and checks that answers carrying XSS payloads stay inert.
"""
import os

import pytest
from django.urls import reverse

from evalplat.generation.models import Answer, sync_experiment_status
from evalplat.rating.models import Invite, Judgment
from tests.console.browser import launch

# Playwright's sync API keeps an event loop in this thread; the ORM calls made
# here between page actions are ordinary blocking calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}
XSS = [
    "<script>window.__xss = 'script'; alert(1)</script>",
    "<img src=x onerror=\"window.__xss = 'img'; alert(2)\">",
    "<svg onload=\"window.__xss = 'svg'\"></svg>",
    "[click me](javascript:window.__xss='link')",
    "<a href=\"javascript:window.__xss='anchor'\">click anchor</a>",
    "<iframe srcdoc=\"<script>parent.__xss='frame'</script>\"></iframe>",
    "![pixel](https://tracker.invalid/pixel.png)",
]
ANSWER = ("Here is a plan.\n\n1. Keep it **simple**.\n2. Check `weekly`.\n\n| item | cost |\n|---|---|\n| rent | 900 |\n\n"
          "```python\ntotal = sum(costs)\n```\n")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def answered(experiment, text_for):
    answers = [
        Answer(experiment=experiment, variant=variant, query=query, status=Answer.Status.DONE,
               text=text_for(i), messages=experiment.prompt_for(variant, query).messages)
        for i, (variant, query) in enumerate((v, q) for v in experiment.variants.all() for q in experiment.queries.all())
    ]
    Answer.objects.bulk_create(answers)
    sync_experiment_status(experiment)
    assert experiment.open_rating()
    return Invite.objects.create(experiment=experiment, platform=Invite.Platform.PROLIFIC,
                                 completion_url="https://app.prolific.com/submissions/complete?cc={code}")


def open_session(page, live_server, invite, screenshot=None):
    page.goto(f"{live_server.url}{reverse('rating:start', args=[invite.token])}"
              "?PROLIFIC_PID=pid-browser&STUDY_ID=study-1&SESSION_ID=sess-1")
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Start").click()
    page.wait_for_url("**/r/a/**")


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_a_rater_judges_ten_items_by_keyboard(browser, live_server, experiment, device, tmp_path):
    invite = answered(experiment, lambda i: ANSWER)
    context = browser.new_context(**VIEWPORTS[device])
    page = context.new_page()
    prolific = []
    page.route("https://app.prolific.com/**", lambda route: (prolific.append(route.request.url),
                                                             route.fulfill(body="returned")))
    open_session(page, live_server, invite, screenshot=tmp_path / f"{device}-welcome.png")
    for number in range(1, 11):
        assert page.locator(".progress .count").inner_text() == f"{number} of 10"
        page.screenshot(path=tmp_path / f"{device}-{number}.png", full_page=True)
        if number == 1:
            a, b = (page.get_by_role("heading", name=f"Response {x}").bounding_box() for x in "AB")
            if device == "phone":
                assert b["y"] > a["y"] + a["height"]  # stacked
                assert page.evaluate("document.documentElement.scrollWidth") <= 360
            else:
                assert abs(a["y"] - b["y"]) < 2 and b["x"] > a["x"]  # side by side
            page.keyboard.press("Enter")  # nothing chosen yet: asks, does not submit
            assert page.get_by_text("Please choose an answer first.").is_visible()
            page.keyboard.press("x")
            assert page.get_by_role("checkbox", name="Both responses are bad").is_checked()
            page.keyboard.press("r")
            page.keyboard.type("Response A is clearer.")
            page.keyboard.press("Escape")
        url = page.url
        page.keyboard.press(str(1 + number % 5))
        assert page.locator("input[name=choice]:checked").get_attribute("data-key") == str(1 + number % 5)
        if number == 1:
            page.screenshot(path=tmp_path / f"{device}-chosen.png", full_page=True)
        page.keyboard.press("Enter")
        page.wait_for_url(lambda new: new != url)
    page.wait_for_selector("text=Your completion code")
    page.screenshot(path=tmp_path / f"{device}-done.png", full_page=True)
    assert page.locator("[data-code]").inner_text() == invite.completion_code
    page.wait_for_url("https://app.prolific.com/**", timeout=10_000)
    assert prolific == [f"https://app.prolific.com/submissions/complete?cc={invite.completion_code}"]
    judgments = Judgment.objects.filter(assignment__rater__external_id="pid-browser")
    assert judgments.count() == 10
    first = judgments.get(assignment__position=0)
    assert first.both_bad and first.rationale == "Response A is clearer." and first.time_on_item_ms > 0
    context.close()


def test_answers_with_xss_payloads_stay_inert(browser, live_server, experiment):
    invite = answered(experiment, lambda i: f"Answer {i}.\n\n{XSS[i % len(XSS)]}\n\n{XSS[(i + 3) % len(XSS)]}")
    context = browser.new_context(**VIEWPORTS["desktop"])
    page = context.new_page()
    dialogs, outside = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: None if request.url.startswith(live_server.url) else outside.append(request.url))
    open_session(page, live_server, invite)
    for _ in range(10):
        if "/r/a/" not in page.url:
            break
        assert page.evaluate("window.__xss") is None
        for text in ("click me", "click anchor"):
            if page.get_by_text(text).count():
                page.get_by_text(text).first.click()
        assert page.evaluate("window.__xss") is None
        assert page.locator(".prose img, .prose script, .prose iframe, .prose svg, .prose a").count() == 0
        url = page.url
        page.keyboard.press("3")
        page.keyboard.press("Enter")
        page.wait_for_url(lambda new: new != url)
    assert dialogs == [] and outside == []
    context.close()


def test_a_reload_after_a_submit_asks_for_the_item_shown_and_stores_nothing_twice(browser, live_server, experiment):
    """A submit is answered with the next item's page (no redirect): the page takes its item's address, so a
    reload is a GET of that item, not the submit sent again."""
    invite = answered(experiment, lambda i: ANSWER)
    context = browser.new_context(**VIEWPORTS["desktop"])
    page = context.new_page()
    open_session(page, live_server, invite)
    first = page.url
    page.keyboard.press("2")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda new: new != first)
    shown = page.url
    assert "/r/a/" in shown and page.locator("#judge").get_attribute("action") == shown.removeprefix(live_server.url)
    assert page.locator(".progress .count").inner_text() == "2 of 10"
    requests = []
    page.on("request", lambda request: requests.append((request.method, request.url)))
    page.reload()
    assert requests[0] == ("GET", shown)
    assert page.url == shown and page.locator(".progress .count").inner_text() == "2 of 10"
    page.go_back()  # the judged item: moves on to the one shown, never judged twice
    page.wait_for_url(shown)
    assert Judgment.objects.filter(assignment__rater__external_id="pid-browser").count() == 1
    context.close()
