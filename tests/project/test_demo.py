"""manage.py demo: the port check comes before any setup, and the printed rater link starts a new
rater in every new browser (the Prolific form, with its placeholders, is printed apart)."""
import io
import os
import re
import socket

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from evalplat.experiments.models import Experiment
from evalplat.rating.models import Rater
from tests.console.browser import launch

# Playwright's sync API keeps an event loop in this thread; the ORM calls made between page actions block.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def demo_output(settings, site):
    settings.SITE_URL = site
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_taken_port_stops_the_demo_before_it_sets_anything_up():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=rf"port {port} on 127.0.0.1 is taken .*scripts/demo {port + 1}"):
            call_command("demo", address=f"127.0.0.1:{port}", stdout=io.StringIO())
    assert not get_user_model().objects.exists() and not Experiment.objects.exists()


@pytest.mark.parametrize("address", ["8o00", "127.0.0.1:", "127.0.0.1:0", "[::1]:65536"])
def test_an_address_that_is_not_a_port_is_refused(address):
    with pytest.raises(CommandError, match="expected PORT or HOST:PORT"):
        call_command("demo", address=address)


@pytest.mark.django_db
def test_the_printed_links(settings):
    output = demo_output(settings, "http://127.0.0.1:8123")
    link = re.search(r"Rater link:\s+(\S+)", output).group(1)
    assert re.fullmatch(r"http://127\.0\.0\.1:8123/r/[A-Za-z0-9_-]+/", link)
    prolific = re.search(r"Prolific:\s+(\S+)", output).group(1)
    assert prolific == f"{link}?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}&STUDY_ID={{{{%STUDY_ID%}}}}&SESSION_ID={{{{%SESSION_ID%}}}}"
    assert "every new browser (or private window) that opens it is a new rater" in output
    # Running it again (scripts/demo after a restart) prints the same link.
    assert re.search(r"Rater link:\s+(\S+)", demo_output(settings, "http://127.0.0.1:8123")).group(1) == link


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_printed_rater_link_gives_two_fresh_browsers_an_item_each(settings, live_server, tmp_path):
    from playwright.sync_api import sync_playwright

    link = re.search(r"Rater link:\s+(\S+)", demo_output(settings, live_server.url)).group(1)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for person in ("first", "second"):
            context = browser.new_context(viewport={"width": 390, "height": 844})
            page = context.new_page()
            page.goto(link)
            page.get_by_role("checkbox").check()
            page.get_by_role("button", name="Start").click()
            page.wait_for_url("**/r/a/**")
            page.screenshot(path=tmp_path / f"{person}.png", full_page=True)
            assert page.get_by_role("button", name=re.compile("Submit")).is_visible()
            context.close()
        browser.close()
    raters = Rater.objects.filter(experiment__slug="honesty-tone")
    assert raters.count() == 2 and all(rater.assignments.exists() for rater in raters)
