"""The Generation page in a real Chromium: the figures follow a running job without a reload,
failures appear grouped with their reasons, and "Retry failed" brings the experiment to ready.

The job's chunks are run by hand in the test (the worker's own code, chunks.run_chunk, against
the test OpenAI-compatible peer) instead of by a Celery worker, so the test decides when the
answers arrive and can watch the page follow. Screenshots at 1280 and 390 px go to var/screens/.
"""
import os
import threading

import pytest
from django.conf import settings
from django.urls import reverse

from evalplat.generation import chunks, planning
from evalplat.generation.models import Answer, GenerationJob
from evalplat.rating import leaks
from tests.console.browser import NARROW, SCREENS, WIDE, launch, logged_in
from tests.generation.conftest import plan_here
from tests.generation.test_console_generation import eager  # noqa: F401 (a fixture)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls between Playwright's page actions

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
POLLED = 15_000  # ms: the page polls every 2 s while a job runs; more on a loaded machine


def screenshot(page, name):
    """Full-page shots at both widths, for a person to look at; the page never scrolls sideways."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    for size in (NARROW, WIDE):  # wide last: the test goes on at that width
        page.set_viewport_size(size)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        page.screenshot(path=SCREENS / f"{name}-{size['width']}.png", full_page=True)


def run_pending(job, size):
    """What a worker does with the job's next chunk of `size` answers, in a thread of its own
    (the backend runs an event loop, which Playwright's thread already has)."""
    ids = list(job.answers.filter(status=Answer.Status.PENDING).in_run_order().values_list("id", flat=True))
    worker = threading.Thread(target=chunks.run_chunk, args=(job.pk, ids[:size]))
    worker.start()
    worker.join()


def test_the_page_follows_a_job_shows_its_failures_and_retries_them(live_server, owner, experiment, peer,
                                                                     monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setattr(settings, "GENERATION_OPENAI_BASE_URL", peer.base_url)
    monkeypatch.setattr(settings, "GENERATION_OPENAI_RETRIES", 0)
    monkeypatch.setattr(settings, "GENERATION_OPENAI_CONCURRENCY", 2)
    monkeypatch.setattr(settings, "GENERATION_MAX_ATTEMPTS", 1)
    peer.script = [{"status": 400, "body": {"error": "prompt too long"}}] * 3
    job = plan_here(experiment, "openai")  # its chunks are run by hand below: nothing is sent to a broker

    errors, outside = [], []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = logged_in(browser, owner, live_server, viewport=WIDE)
        page = context.new_page()
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda r: None if r.url.startswith(live_server.url) else outside.append(r.url))

        page.goto(live_server.url + reverse("generation:page", args=[experiment.slug]))
        expect(page.locator("#g-status")).to_have_text("Generating answers")
        expect(page.locator("#g-done")).to_have_text("0")
        expect(page.locator("#g-cancel")).to_be_visible()
        page.evaluate("window.notReloaded = true")

        # A first chunk of ten: three of its requests fail. The page shows it without a reload.
        run_pending(job, 10)
        expect(page.locator("#g-done")).to_have_text("7", timeout=POLLED)
        expect(page.locator("#g-failed")).to_have_text("3")
        expect(page.locator("#g-failure-rows tr")).to_have_count(1)
        expect(page.locator("#g-failure-rows")).to_contain_text('HTTP 400: {"error": "prompt too long"}')
        expect(page.locator("#g-failure-rows td.count")).to_have_text("3")
        expect(page.locator("#g-aps")).not_to_have_text("–")
        expect(page.locator("#g-retry")).to_be_hidden()  # not while the job still runs

        # The rest: the job ends with failures, the experiment leaves "generating".
        run_pending(job, 32)
        expect(page.locator("#g-done")).to_have_text("29", timeout=POLLED)
        expect(page.locator("#g-status")).to_have_text("Draft")
        expect(page.locator("#g-job-state")).to_have_text("done, some answers failed")
        expect(page.locator("#g-cancel")).to_be_hidden()
        expect(page.locator("#g-retry")).to_be_visible()
        assert page.evaluate("window.notReloaded") is True
        screenshot(page, "generation-failures")

        # Retry failed: a new job takes the three failed answers only.
        page.get_by_role("button", name="Retry failed answers").click()
        expect(page.locator(".messages")).to_contain_text("the 3 failed answers again, via openai")
        retry = GenerationJob.objects.first()
        assert retry.pk != job.pk and retry.total == 3
        planning.plan_job(retry.pk, 32)  # what the worker that receives its planning task does first
        page.evaluate("window.notReloaded = true")
        run_pending(retry, 32)
        expect(page.locator("#g-done")).to_have_text("32", timeout=POLLED)
        expect(page.locator("#g-status")).to_have_text("Answers ready")
        expect(page.locator("#g-failures")).to_be_hidden()
        expect(page.locator("#g-no-failures")).to_be_visible()
        assert page.evaluate("window.notReloaded") is True
        screenshot(page, "generation-ready")

        # The answer browser, filtered to one query, with an answer the leak check flags.
        leaky = Answer.objects.filter(query__key="sky", variant__levels__name="hedged").order_by("pk").first()
        Answer.objects.filter(pk=leaky.pk).update(text="As **Qwen**: Zanzibar-hedge: admit any uncertainty.")
        assert leaks.check_experiment(experiment) == 1
        page.get_by_role("link", name="Browse the answers").click()
        page.select_option("#f-query", "sky")
        page.get_by_role("button", name="Show").click()
        expect(page.locator("article.answer")).to_have_count(8)
        expect(page.locator(f"#answer-{leaky.pk} .flags")).to_contain_text("Names a model")
        screenshot(page, "answers")
        page.locator(f"#answer-{leaky.pk}").get_by_role("button", name="Exclude").click()
        expect(page.locator(".messages")).to_contain_text(f"Excluded the answer of {leaky.variant.code} to sky")
        expect(page.locator("#f-query")).to_have_value("sky")  # back to the same filtered view
        expect(page.locator(f"#answer-{leaky.pk}")).to_contain_text("Excluded: leak check:")
        assert errors == [], "the page logged errors (a CSP violation shows here)"
        context.close()
        browser.close()
    assert outside == []


def test_in_eager_mode_the_page_offers_no_vllm_and_says_how_to_get_it(live_server, owner, experiment, eager):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = logged_in(browser, owner, live_server, viewport=WIDE)
        page = context.new_page()
        page.goto(live_server.url + reverse("generation:page", args=[experiment.slug]))
        expect(page.locator("#backend option")).to_have_count(1)
        expect(page.locator("#backend option")).to_have_text("OpenAI-compatible server")
        expect(page.locator(".note")).to_contain_text("python manage.py worker")
        screenshot(page, "generation-eager")
        context.close()
        browser.close()
