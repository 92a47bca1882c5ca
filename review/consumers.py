"""The live feed over WebSocket (contract: docs/live.md): the dashboard's (a logged-in session) and an
overlay's (the secret token in its URL). Anyone else is refused before the handshake completes.

Messages reach a feed two ways, deduplicated here by event and label id and per-job `seq`: pushed
through the `live` group (the Redis layer carries the live process's sends across processes at once)
and found by polling the rows (what works with the embedded in-memory layer, which reaches no other
process, and what catches a reconnecting client up from `?since=<last event id>`). The poll is on
indexed ids: every `FAST_POLL_SECONDS` while a session runs and the layer cannot push across
processes (embedded), every `POLL_SECONDS` otherwise (pushes do the work; the poll only catches up).
"""
from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer

from detection.services.live import LIVE_GROUP
from review.services_live import live_jobs_for, live_messages_after, overlay_token_owner

POLL_SECONDS = 0.5
FAST_POLL_SECONDS = 0.1
REFUSED = 4403


class LiveFeedConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.viewer = await self.authorised()
        if self.viewer is None:
            await self.close(code=REFUSED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        since = query.get("since", [""])[0]
        self.last_event: int | None = int(since) if since.isdigit() else None
        self.last_label: int | None = None
        self.seen: dict[str, int] = {}
        self.jobs: set[int] = set()
        self.running = False
        self.pushed = self.channel_layer is not None and not isinstance(self.channel_layer, InMemoryChannelLayer)
        await self.accept()
        if self.channel_layer is not None:
            await self.channel_layer.group_add(LIVE_GROUP, self.channel_name)
        self.poller = asyncio.ensure_future(self.poll())
        await self.poll_once()

    async def authorised(self) -> Any | None:
        user = self.scope.get("user")
        return user if user is not None and user.is_authenticated else None

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "poller"):
            self.poller.cancel()
        if self.channel_layer is not None and self.viewer is not None:
            await self.channel_layer.group_discard(LIVE_GROUP, self.channel_name)

    async def poll(self) -> None:
        while True:
            await asyncio.sleep(FAST_POLL_SECONDS if self.running and not self.pushed else POLL_SECONDS)
            await self.poll_once()

    async def poll_once(self) -> None:
        pending = await database_sync_to_async(self._pending)()
        if pending is None:  # the viewer lost the right to watch (a revoked overlay token)
            self.poller.cancel()
            await self.close(code=REFUSED)
            return
        messages, self.jobs, self.running = pending
        for message in messages:
            await self.relay(message)

    def still_allowed(self) -> bool:
        return True

    def _pending(self) -> tuple[list[dict[str, Any]], set[int], bool] | None:
        if not self.still_allowed():
            return None
        jobs = set(live_jobs_for(self.viewer).values_list("pk", flat=True))
        messages, running = live_messages_after(user=self.viewer, since_event=self.last_event,
                                                since_label=self.last_label, seen=self.seen)
        return messages, jobs, running

    async def live_message(self, envelope: dict[str, Any]) -> None:
        """A message the live process sent to the group (production)."""
        message = envelope["message"]
        if message.get("job") in self.jobs:
            await self.relay(message)

    async def relay(self, message: dict[str, Any]) -> None:
        if message["type"] == "event":
            if self.last_event is not None and message["id"] <= self.last_event:
                return
            self.last_event = message["id"]
        elif message["type"] == "label":
            if self.last_label is not None and message["id"] <= self.last_label:
                return
            self.last_label = message["id"]
        else:
            key, seq = f"{message['type']}:{message['job']}", int(message.get("seq", 0))
            if seq and seq <= self.seen.get(key, 0):
                return
            self.seen[key] = seq
        await self.send_json(message)


class OverlayFeedConsumer(LiveFeedConsumer):
    """The same feed for an OBS browser source: no session, the token in the URL."""

    async def authorised(self) -> Any | None:
        return await database_sync_to_async(overlay_token_owner)(self.token)

    @property
    def token(self) -> str:
        return str(self.scope["url_route"]["kwargs"]["token"])

    def still_allowed(self) -> bool:
        """Checked at every poll: revoking a token closes the overlays open with it within `POLL_SECONDS`."""
        return overlay_token_owner(self.token) is not None
