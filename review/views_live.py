"""The live dashboard and the overlay page; their data comes over the WebSocket feed (review/consumers.py)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from detection.models import Job
from detection.services import live_job
from detection.services.live_run import LiveRefused
from project.jobs.registry import JobRefused
from review.forms_live import LiveStartForm
from review.models import OverlayToken
from review.services_live import live_jobs_for, overlay_token_create, overlay_token_owner, overlay_token_revoke


@login_required
def live_dashboard(request: HttpRequest) -> HttpResponse:
    return _dashboard(request, LiveStartForm())


def _dashboard(request: HttpRequest, form: LiveStartForm, *, status: int = 200) -> HttpResponse:
    tokens = OverlayToken.objects.filter(created_by_id=request.user.pk, revoked_at__isnull=True)
    active = live_jobs_for(request.user).filter(status__in=Job.ACTIVE_STATUSES).select_related("recording")
    return render(request, "live/dashboard.html",
                  {"tokens": tokens, "running": active, "feed_path": "/ws/live/", "start_form": form}, status=status)


@login_required
@require_POST
def live_session_start(request: HttpRequest) -> HttpResponse:
    """Staff start a live session: a `live` job for the live worker; a bad choice is a 400 saying why."""
    if not request.user.is_staff:
        raise PermissionDenied("only staff start live sessions")
    form = LiveStartForm(request.POST)
    if form.is_valid():
        try:
            job = live_job.live_session_queue(owner=request.user, options=form.options())
        except (LiveRefused, JobRefused) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Live session #{job.pk} queued: it starts when the live worker takes it.")
            return redirect("live-dashboard")
    return _dashboard(request, form, status=400)


@login_required
@require_POST
def live_session_stop(request: HttpRequest, job_id: int) -> HttpResponse:
    """Staff stop a live session: the live process sees the request within about a second and ends cleanly."""
    if not request.user.is_staff:
        raise PermissionDenied("only staff stop live sessions")
    job = live_jobs_for(request.user).filter(pk=job_id).first()
    if job is None:
        raise Http404("no such live session")
    live_job.live_session_stop(job=job)
    messages.success(request, f"Stopping live session {job.recording_id}: its events so far are kept.")
    return redirect("live-dashboard")


@login_not_required
def live_overlay(request: HttpRequest, token: str) -> HttpResponse:
    """No login (an OBS browser source has none): the token is the key; unknown or revoked is a 404."""
    if overlay_token_owner(token) is None:
        raise Http404("no such overlay")
    return render(request, "live/overlay.html", {"feed_path": f"/ws/live/overlay/{token}/"})


@login_required
@require_POST
def live_overlay_token_new(request: HttpRequest) -> HttpResponse:
    overlay_token_create(user=request.user)
    messages.success(request, "New overlay URL made; paste it into an OBS browser source.")
    return redirect("live-dashboard")


@login_required
@require_POST
def live_overlay_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    if overlay_token_revoke(user=request.user, token_id=token_id):
        messages.success(request, "Overlay URL revoked: overlays using it are disconnected at their next reconnect.")
    else:
        messages.error(request, "No such overlay URL of yours (revoked already?).")
    return redirect("live-dashboard")
