from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("", include("evalplat.console.login_urls")),
    # Before the console's <slug>/ pages, so that "new" is never read as an experiment's name.
    path("console/new/", include("evalplat.console.design_urls")),
    path("console/", include("evalplat.console.urls")),
    # The console's Generation step (console/<slug>/generation/, generate/, answers/), the rater pages (r/).
    path("", include("evalplat.console.generation_urls")),
    path("", include("evalplat.rating.urls")),
]
