"""The report opens in a real Chromium with no network and shows its plots."""
import numpy as np
import pytest
from dataclasses import replace

from evalplat.analysis.outputs import write_analysis
from evalplat.analysis.pipeline import run_analysis
from evalplat.analysis.result import DesignContext
from evalplat.analysis.simulate import SimulatedRaters, simulate_judgments
from tests.console.browser import launch

from .helpers import random_pairs, two_level_table


@pytest.mark.browser
def test_the_report_renders_its_plots_offline_in_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    table = two_level_table()
    rng = np.random.default_rng(4)
    rater, query, left, right = random_pairs(8, 24, 1200, 40, rng)
    judgments, _ = simulate_judgments(table.dummies(), [0.5, -0.3, 0.2, 0.0], rater, query, left, right,
                                      SimulatedRaters(), rng)
    judgments = replace(judgments, category=judgments.query % 3, categories=("coding", "health", "advice"))
    result = run_analysis(table, judgments, design=DesignContext(title="Does asking for calibrated uncertainty help?",
                                                                 question="Which response is better?"))
    write_analysis(tmp_path, table, judgments, result)

    requests = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("request", lambda request: requests.append(request.url))
        page.goto((tmp_path / "report.html").as_uri())
        assert page.locator("h1").inner_text() == "Does asking for calibrated uncertainty help?"
        assert "raters prefer" in page.locator("#summary").inner_text()
        plots = page.locator("svg.plot")
        assert plots.count() >= 4            # forest, main effects, category heatmap, raters
        box = plots.first.bounding_box()
        assert box["width"] > 300 and box["height"] > 100
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert [url for url in requests if not url.startswith("file://")] == []
    assert (tmp_path / "report.png").stat().st_size > 50_000
