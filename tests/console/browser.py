"""What the browser tests share: Debian's Chromium, a console user's logged-in browser context, the
two widths every page is looked at, and the screenshots (var/screens/) a person reads."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "designs" / "examples"
SCREENS = ROOT / "var" / "screens"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WIDE, NARROW = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


def launch(playwright):
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)


def logged_in(browser, user, live_server, **options):
    """A new browser context with `user`'s console session (made by Django's test client)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    context = browser.new_context(**options)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                          "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url}])
    return context


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
