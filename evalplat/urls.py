from django.contrib import admin
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from django.views.generic import RedirectView


@require_GET
@cache_control(max_age=86400, public=True)
def no_favicon(request):
    """Browsers ask for /favicon.ico on every site; "no content" instead of a 404 that every page's
    console would show as an error (the Playwright tests fail on console errors)."""
    return HttpResponse(status=204)


urlpatterns = [
    # The rater pages (r/) first: they take nearly every request of a study, and Django tries the
    # patterns in order (nothing else starts with r/).
    path("", include("evalplat.rating.urls")),
    path("", RedirectView.as_view(pattern_name="console:index", permanent=False)),
    path("favicon.ico", no_favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("", include("evalplat.console.login_urls")),
    # Before the console's <slug>/ pages, so that "new" is never read as an experiment's name.
    path("console/new/", include("evalplat.console.design_urls")),
    path("console/", include("evalplat.console.urls")),
    # The console's Generation step (console/<slug>/generation/, generate/, answers/).
    path("", include("evalplat.console.generation_urls")),
]
