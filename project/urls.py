from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("detection.api_urls")),
    # The hosted stream-producer API lives at the contract's exact paths (/api/session, /api/raid/...).
    path("api/", include("importer.api_urls")),
    path("importer/", include("importer.urls")),
    path("", include("labeling.urls")),
    path("", include("labeling.urls_summaries")),
    path("", include("review.urls")),
]
