"""The new-experiment page in a real Chromium: paste a broken design with its file, see the error in
place, fix it in the editor, Check, Create, land on the experiment's page.

Screenshots of the page with an error and after a successful check, at 1280 and 390 px wide,
are written to var/screens/ for a person to look at.
"""
import os

import pytest
from django.urls import reverse

from evalplat.experiments.models import Experiment
from tests.console.browser import EXAMPLES, WIDE, launch, logged_in, screenshot

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls between Playwright's page actions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# Check estimates the judgments needed by simulation: seconds, more on a loaded machine.
CHECKED = 90_000
BROKEN_LINE = 'system = """You are a helpful assistant. {uncertainty} {pushback} {tome} {evidence}'


def line_of_cursor(page):
    return page.evaluate("() => { const e = document.getElementById('editor');"
                         " return e.value.slice(0, e.selectionStart).split('\\n').length; }")


def test_a_broken_design_is_fixed_in_the_editor_checked_and_created(live_server, owner):
    from playwright.sync_api import expect, sync_playwright

    text = (EXAMPLES / "honesty-tone.toml").read_text()
    broken = text.replace("{tone}", "{tome}", 1)
    assert BROKEN_LINE in broken
    errors, outside = [], []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = logged_in(browser, owner, live_server, viewport=WIDE)
        page = context.new_page()
        page.set_default_timeout(CHECKED)
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: None if request.url.startswith(live_server.url) else outside.append(request.url))

        page.goto(live_server.url + reverse("design:new"))
        editor = page.locator("#editor")
        assert 'name = "my-first-experiment"' in editor.input_value()

        # Paste a broken design and choose the file it names.
        editor.fill(broken)
        page.set_input_files("#design-files", str(EXAMPLES / "instructions.md"))
        expect(page.locator("#file-list li")).to_have_count(1)
        expect(page.locator("#file-list")).to_contain_text("instructions.md")
        page.get_by_role("button", name="Check").click()
        problems = page.locator(".problems")
        expect(problems).to_contain_text("unknown placeholder {tome}", timeout=CHECKED)
        expect(problems).to_contain_text("text factor 'tone' is not used")
        expect(page.locator("#gutter span.bad")).to_have_count(2)
        screenshot(page, "design-new-error")

        # The error's line button puts the cursor on that line of the editor; fix it by typing over it.
        page.get_by_role("button", name="Line 13").click()
        expect(editor).to_be_focused()
        assert line_of_cursor(page) == 13
        assert page.evaluate("() => { const e = document.getElementById('editor');"
                             " return e.value.substring(e.selectionStart, e.selectionEnd); }") == BROKEN_LINE
        page.keyboard.type(BROKEN_LINE.replace("{tome}", "{tone}"))
        assert editor.input_value() == text

        # Check again: the whole plan shows in the page, the text and the chosen file are kept.
        page.get_by_role("button", name="Check").click()
        valid = page.locator(".valid")
        expect(valid).to_contain_text("The design is valid", timeout=CHECKED)
        expect(page.locator("#results")).to_contain_text("Judgments needed")
        expect(page.locator("#results")).to_contain_text("Prompts for the first query")
        expect(page.locator("#gutter span.bad")).to_have_count(0)
        assert editor.input_value() == text
        expect(page.locator("#file-list li")).to_have_count(1)
        assert Experiment.objects.count() == 0
        screenshot(page, "design-new-checked")

        assert errors == [], "the page logged errors (a CSP violation shows here)"

        # Create: the experiment's page opens.
        page.locator("#create-button").click()
        page.wait_for_url(f"**{reverse('console:detail', args=['honesty-tone'])}")
        expect(page.locator("h1")).to_have_text("Calibrated honesty, push-back and tone")
        context.close()
        browser.close()

    experiment = Experiment.objects.get()
    assert experiment.owner == owner and experiment.design_text == text
    assert experiment.instructions == (EXAMPLES / "instructions.md").read_text()
    assert outside == []
