"""The active-learning queue and the box editor: /recordings/queue/..., /recordings/<pk>/queue/."""
from __future__ import annotations

from django.urls import path

from review import views_editor, views_queue

urlpatterns = [
    path("recordings/queue/", views_queue.queue_all, name="queue"),
    path("recordings/<int:pk>/queue/", views_queue.queue_recording, name="queue-recording"),
    path("recordings/<int:pk>/queue/events/<int:event_pk>/", views_editor.editor_for_event, name="editor-for-event"),
    path("recordings/queue/frames/<int:frame_pk>/image/", views_queue.queue_frame_image, name="queue-frame-image"),
    path("recordings/queue/frames/<int:frame_pk>/edit/", views_editor.editor_page, name="editor-page"),
    path("recordings/queue/frames/<int:frame_pk>/boxes/", views_editor.editor_save, name="editor-save"),
    path("recordings/queue/frames/<int:frame_pk>/<str:action>/", views_queue.queue_frame_action, name="queue-frame-action"),
]
