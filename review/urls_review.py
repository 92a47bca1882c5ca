"""Review pages for one recording: /recordings/<pk>/review/..."""
from __future__ import annotations

from django.urls import path

from review import views_review
from review.video import recording_video

urlpatterns = [
    path("recordings/<int:pk>/review/", views_review.review_page, name="review-page"),
    path("recordings/<int:pk>/review/video/", recording_video, name="review-video"),
    path("recordings/<int:pk>/review/export.json", views_review.review_export, name="review-export"),
    path("recordings/<int:pk>/review/history/", views_review.review_history, name="review-history"),
    path("recordings/<int:pk>/review/undo/", views_review.review_undo, name="review-undo"),
    path("recordings/<int:pk>/review/jobs/", views_review.review_jobs, name="review-jobs"),
    path("recordings/<int:pk>/review/proxy/", views_review.review_proxy, name="review-proxy"),
    path("recordings/<int:pk>/review/labels/", views_review.review_labels, name="review-labels"),
    path("recordings/<int:pk>/review/labels/<int:label_pk>/correct/", views_review.review_label_correct,
         name="review-label-correct"),
    path("recordings/<int:pk>/review/events/add/", views_review.review_event_add, name="review-event-add"),
    path("recordings/<int:pk>/review/events/<int:event_pk>/row/", views_review.review_event_row, name="review-event-row"),
    path("recordings/<int:pk>/review/events/<int:event_pk>/edit/", views_review.review_event_edit, name="review-event-edit"),
    path(
        "recordings/<int:pk>/review/events/<int:event_pk>/thumbnail/",
        views_review.review_event_thumbnail,
        name="review-event-thumbnail",
    ),
    path(
        "recordings/<int:pk>/review/events/<int:event_pk>/<str:action>/",
        views_review.review_event_action,
        name="review-event-action",
    ),
]
