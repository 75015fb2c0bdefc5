"""A whole study through the console in a real Chromium, as a newcomer would run it.

Log in on the console's own page; upload the science example with its instructions and queries
files, with a typo in it; see the error in place, fix it in the editor, Check, Create; import
answers through the console's form; run the leak check and exclude the answer it flags; open
rating; rate through a study link in a second browser (another person); see the interim effects;
close rating; open the report and download the export; log out, and meet the lockout page after
too many wrong passwords.

Every console page is screenshotted at 1280 and 390 px into var/screens/console-*.png (tests/console/browser.py) for a
person to look at; no page may scroll sideways, and no page of either browser may log an error
(a CSP violation, a failed request, a script error all land there).
"""
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from evalplat.experiments.models import Experiment
from evalplat.generation.models import Answer
from evalplat.rating.models import Judgment, LeakCheck
from tests.console.browser import EXAMPLES, NARROW, WIDE, launch, screenshot

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls between Playwright's page actions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SLOW = 90_000  # Check estimates the judgments needed by simulation: seconds, more on a loaded machine
SYSTEM_LINE = 'system = """You are {persona}. {stance} {praise} {next_steps} {uncertainty}"""'
TYPO = SYSTEM_LINE.replace("{uncertainty}", "{uncertainy}")
GOOD_SIGN = "The evidence points the other way"
LEAK = "As Qwen, I would put it like this."


def watch(page, errors, outside, base):
    page.on("console", lambda message: errors.append(f"{page.url}: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on("request", lambda request: None if request.url.startswith(base) else outside.append(request.url))


def tab(page, name):
    return page.get_by_role("navigation", name="This experiment").get_by_role("link", name=name)


def answers_file(experiment, folder):
    """One answer per (variant, query): a 'skeptical' stance shows in the text (so a rater can prefer
    it), and one answer names its model (so the leak check has something to flag)."""
    lines = []
    for variant in experiment.variants.prefetch_related("levels__factor"):
        levels = variant.level_names()
        for query in experiment.queries.all():
            text = (f"Thanks for sharing your idea about {query.key.replace('-', ' ')}.\n\n"
                    + (f"{GOOD_SIGN}, and here is how you could check it yourself."
                       if levels["stance"] == "skeptical" else "Here are a few thoughts to consider."))
            if variant.code == "v1" and query.position == 0:
                text = f"{LEAK}\n\n{text}"
            lines.append(json.dumps({"variant": variant.code, "query": query.key, "sample": 0, "text": text}))
    path = folder / "answers.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def rate_until_done(page):
    """Judge every item as someone who prefers the answer that tests the idea; returns how many."""
    judged = 0
    while "/r/a/" in page.url:
        a, b = (page.locator(f"article[aria-labelledby=response-{x}] .prose").inner_text() for x in "ab")
        key = "2" if (GOOD_SIGN in a) == (GOOD_SIGN in b) else "1" if GOOD_SIGN in a else "3"
        page.locator(f'input[name=choice][data-key="{key}"]').check()
        page.fill("#rationale", "It tells me how to test the idea." if key != "2" else "Much the same.")
        url = page.url
        page.get_by_role("button", name="Submit and continue").click()
        page.wait_for_url(lambda new: new != url)
        judged += 1
    return judged


def test_a_study_from_design_to_report_in_the_browser(live_server, owner, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    science = (EXAMPLES / "science-feedback.toml").read_text()
    assert SYSTEM_LINE in science
    broken = tmp_path / "science-feedback.toml"
    broken.write_text(science.replace(SYSTEM_LINE, TYPO))
    base = live_server.url
    errors, outside = [], []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        console = browser.new_context(viewport=WIDE, accept_downloads=True)
        page = console.new_page()
        page.set_default_timeout(SLOW)
        watch(page, errors, outside, base)

        # Log in through the console's own page (the console sends a stranger there).
        page.goto(base + reverse("console:index"))
        page.wait_for_url(f"**{reverse('login')}?next=/console/")
        expect(page.locator("h1")).to_have_text("Log in to the console")
        screenshot(page, "console-login")
        page.get_by_label("Username").fill("owner")
        page.get_by_label("Password").fill("owner-password-1")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"**{reverse('console:index')}")
        screenshot(page, "console-index-empty")

        # Upload the design with its two files: the typo shows in place, at its line.
        page.get_by_role("link", name="New experiment").first.click()
        page.set_input_files("#design-files", [str(broken), str(EXAMPLES / "instructions.md"),
                                               str(EXAMPLES / "queries" / "science-ideas.jsonl")])
        # The design file opens in the editor; the files it names wait beside it.
        expect(page.locator("#editor")).to_have_value(broken.read_text())
        expect(page.locator("#file-list li")).to_have_count(2)
        page.get_by_role("button", name="Check").click()
        problems = page.locator(".problems")
        expect(problems).to_contain_text("unknown placeholder {uncertainy}")
        screenshot(page, "console-new-error")

        # Fix it in the editor: the line button selects the line, typing replaces it.
        line = science.splitlines().index(SYSTEM_LINE) + 1
        page.get_by_role("button", name=f"Line {line}").click()
        page.keyboard.type(SYSTEM_LINE)
        expect(page.locator("#editor")).to_have_value(science)
        page.get_by_role("button", name="Check").click()
        # Check runs plan, with its simulation check: seconds on a quiet machine, more on a loaded one.
        expect(page.locator(".valid")).to_contain_text("The design is valid", timeout=90_000)
        expect(page.locator("#results")).to_contain_text("Judgments needed")
        screenshot(page, "console-new-checked")
        assert not Experiment.objects.exists()
        page.locator("#create-button").click()
        page.wait_for_url(f"**{reverse('console:detail', args=['science-feedback'])}")
        experiment = Experiment.objects.get()
        assert experiment.queries.count() == 14 and experiment.instructions == (EXAMPLES / "instructions.md").read_text()
        screenshot(page, "console-detail-new")

        # Answers through the console's import form: the experiment becomes ready.
        tab(page, "Generation").click()
        page.set_input_files("#answers", str(answers_file(experiment, tmp_path)))
        page.get_by_role("button", name="Import answers", exact=True).click()
        expect(page.locator(".messages")).to_contain_text("Imported 252 answers")
        screenshot(page, "console-generation")
        experiment.refresh_from_db()
        assert experiment.status == Experiment.Status.READY

        # Rating does not open before the leak check: the page says so and offers the check.
        tab(page, "Rating").click()
        expect(page.locator(".gate")).to_contain_text("The leak check has not run yet")
        screenshot(page, "console-rating-gate")
        tab(page, "Leak check").click()
        page.get_by_role("button", name="Run the leak check").click()
        expect(page.locator(".messages")).to_contain_text("Leak check done: 1 of 252 answers flagged")
        expect(page.locator("main")).to_contain_text("Current.")
        expect(page.locator("main")).not_to_contain_text("after the answers are generated")
        expect(page.locator("tbody tr")).to_have_count(1)
        expect(page.locator("tbody")).to_contain_text("Names a model")
        screenshot(page, "console-leaks")
        page.get_by_role("button", name="Exclude answer").click()
        expect(page.locator(".messages")).to_contain_text("Excluded the answer of v1")
        assert Answer.objects.get(excluded=True).text.startswith(LEAK)

        tab(page, "Rating").click()
        page.get_by_role("button", name="Open rating").click()
        expect(page.locator(".messages")).to_contain_text("Rating is open.")
        assert LeakCheck.objects.filter(kind=LeakCheck.Kind.OPENED_ANYWAY).count() == 0
        page.get_by_label("Label", exact=True).fill("Pilot")
        page.get_by_role("button", name="Create link").click()
        expect(page.locator(".messages")).to_contain_text("Invite link created.")
        link = page.locator("code.link").first.inner_text()
        assert link.startswith(base + "/r/")

        # Another person rates through the link, in a browser of their own.
        rater_context = browser.new_context(viewport=NARROW, is_mobile=True, has_touch=True)
        rater = rater_context.new_page()
        rater.set_default_timeout(SLOW)
        watch(rater, errors, outside, base)
        rater.goto(link)
        rater.get_by_role("checkbox").check()
        rater.get_by_role("button", name="Start").click()
        rater.wait_for_url("**/r/a/**")
        judged = rate_until_done(rater)
        expect(rater.locator("main")).to_contain_text("Your completion code")
        assert judged == experiment.rating_settings.per_rater
        assert Judgment.objects.filter(assignment__experiment=experiment).count() == judged
        rater_context.close()

        # The interim look: effects with intervals, agreement, the stopping statement.
        page.reload()
        interim = page.locator("#interim + *")
        expect(page.locator("main")).to_contain_text("judgments analysed")
        expect(page.locator("main")).to_contain_text("stance")
        expect(interim).to_contain_text("Too early to judge precision")  # one rater: too few to stop on
        expect(page.locator("main")).to_contain_text("Agreement so far")
        expect(page.locator("main")).to_contain_text(f"{judged} of {judged}")
        screenshot(page, "console-rating-open")
        page.get_by_role("button", name="Close rating").click()
        expect(page.locator(".messages")).to_contain_text("Rating is closed")
        screenshot(page, "console-rating-closed")

        # The report inside the console, and the export.
        tab(page, "Results").click()
        expect(page.locator("#effects")).to_contain_text("Effects of each factor")
        screenshot(page, "console-results")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download everything (zip)").click()
        archive = zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes()))
        names = {name.split("/", 1)[1] for name in archive.namelist()}
        assert {"report.html", "effects.json", "judgments.csv", "answers.jsonl", "dpo.jsonl"} <= names
        effects = json.loads(archive.read("science-feedback/effects.json"))
        assert effects["n_judgments"] <= judged

        tab(page, "Overview").click()
        screenshot(page, "console-detail-closed")
        page.get_by_role("navigation", name="Console").get_by_role("link", name="Experiments").click()
        screenshot(page, "console-index")

        # Log out from the layout: the console is closed again.
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(f"**{reverse('login')}")
        page.goto(base + reverse("console:rating", args=["science-feedback"]))
        page.wait_for_url(f"**{reverse('login')}?next=**")

        # Wrong passwords: the page says so, and after the limit the lockout page says for how long.
        for attempt in range(settings.AXES_FAILURE_LIMIT):
            page.get_by_label("Username").fill("owner")
            page.get_by_label("Password").fill(f"wrong-{attempt}")
            page.get_by_role("button", name="Log in").click()
            if attempt == 0:
                expect(page.locator(".errors")).to_contain_text("Please enter a correct username and password")
                screenshot(page, "console-login-error")
        expect(page.locator("h1")).to_have_text("Too many failed logins")
        # The one error a browser logs here is the lockout's own status, which is the point.
        assert errors[-1].endswith("the server responded with a status of 429 (Too Many Requests)")
        errors.pop()
        screenshot(page, "console-locked-out")
        console.close()
        browser.close()
    assert errors == [], "pages logged errors:\n" + "\n".join(errors)
    assert outside == []
