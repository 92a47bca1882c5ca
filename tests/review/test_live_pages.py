"""The live pages: the dashboard needs a login, the overlay its token; tokens are made and revoked by their owner."""
from __future__ import annotations

import pytest
from django.test import Client

from review.models import OverlayToken

pytestmark = pytest.mark.django_db


def test_the_dashboard_needs_a_login_and_the_overlay_only_a_live_token(client, owner, reviewer) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/live/").status_code == 302
    client.force_login(owner)
    assert client.get("/live/").status_code == 200
    assert client.post("/live/overlay-tokens/").status_code == 302
    token = OverlayToken.objects.get(created_by=owner)
    page = client.get("/live/")
    assert token.key in page.content.decode()
    anonymous = Client()
    overlay = anonymous.get(f"/live/overlay/{token.key}/")
    assert overlay.status_code == 200 and f"/ws/live/overlay/{token.key}/" in overlay.content.decode()
    assert anonymous.get("/live/overlay/wrong/").status_code == 404

    other = Client()
    other.force_login(reviewer)
    other.post(f"/live/overlay-tokens/{token.pk}/revoke/")
    assert anonymous.get(f"/live/overlay/{token.key}/").status_code == 200  # not theirs to revoke
    client.post(f"/live/overlay-tokens/{token.pk}/revoke/")
    assert anonymous.get(f"/live/overlay/{token.key}/").status_code == 404
    assert token.key not in client.get("/live/").content.decode()


def test_staff_stop_a_live_session_from_the_dashboard_and_the_live_process_hears_it(client, owner, staff) -> None:  # type: ignore[no-untyped-def]
    from detection.services.live import live_session_start, live_status_save

    session = live_session_start(owner=owner, title="Live", video_path="/tmp/none.mkv", session_type="stream",
                                 source="rtsp://cam", params={})
    assert live_status_save(session=session, state={}, stats={}) is False
    client.force_login(owner)
    assert "rtsp://cam" in client.get("/live/").content.decode()
    assert client.post(f"/live/sessions/{session.job.pk}/stop/").status_code == 403  # the owner is not staff
    assert live_status_save(session=session, state={}, stats={}) is False
    client.force_login(staff)
    assert client.post(f"/live/sessions/{session.job.pk}/stop/").status_code == 302
    assert live_status_save(session=session, state={}, stats={}) is True
