"""The staff Models page (`/models/`): versions, comparison, activation, training."""
from __future__ import annotations

from django.urls import path

from labeling import views_models as views

urlpatterns = [
    path("models/", views.models_page, name="models"),
    path("models/train/", views.model_train, name="model-train"),
    path("models/rollback/", views.model_rollback, name="model-rollback"),
    path("models/<int:pk>/activate/", views.model_activate, name="model-activate"),
    path("models/<int:pk>/plots/<slug:key>/", views.model_plot, name="model-plot"),
]
