"""What the console's browser tests share: Debian's Chromium, the two widths every page is looked at,
and the screenshots (var/screens/) a person reads."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "designs" / "examples"
SCREENS = ROOT / "var" / "screens"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


def launch(playwright):
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)


def screenshot(page, name):
    """var/screens/NAME-1280.png and NAME-390.png, full page; neither width may scroll sideways."""
    page.wait_for_load_state()
    SCREENS.mkdir(parents=True, exist_ok=True)
    for label, size in (("1280", WIDE), ("390", NARROW)):
        page.set_viewport_size(size)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"], f"{name} scrolls sideways at {label} px ({width} px wide)"
        page.screenshot(path=SCREENS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size(WIDE)
