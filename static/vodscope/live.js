// The live feed (docs/live.md): fills [data-live] elements from `event`, `state`, `stats` and `label` messages,
// reconnects by itself and asks for what it missed with ?since=<last event id>.
(function () {
  "use strict";
  const root = document.querySelector("[data-live-feed]");
  if (!root) return;
  const kinds = (root.dataset.liveKinds || "").split(",").filter(Boolean);
  const field = (name) => root.querySelector(`[data-live="${name}"]`);
  const put = (name, value) => { const el = field(name); if (el) el.textContent = value == null || value === "" ? "–" : value; };
  const clock = (s) => s == null ? "–" : `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
  let lastEvent = null;
  let retry = 500;

  function describe(event) {
    const data = event.data || {};
    const detail = Object.entries(data).filter(([, v]) => v !== null && v !== "").map(([k, v]) => `${k}: ${v}`).join(", ");
    const line = `${clock(event.video_offset_seconds)} ${event.event_type}${detail ? " — " + detail : ""}`;
    if (!event.time_unknown) return line;
    const [start, end] = event.happened_between;
    return `${line} (listed after the raid: happened between ${clock(start)} and ${clock(end)})`;
  }

  function onEvent(event) {
    lastEvent = event.id;
    // Vodscope's own latency: from the capture of the frame that made the event confirmable (docs/live.md).
    const confirmed = event.confirmed_at || event.timestamp;
    if (confirmed) put("event.latency", `${Math.max(0, Date.now() - Date.parse(confirmed))} ms`);
    if (kinds.length && !kinds.includes(event.event_type)) return;
    // The viewers' overlay shows what happens as it happens; a kill known only from the raid's summary is long past.
    if (event.time_unknown && "liveTimedOnly" in root.dataset) return;
    const feed = field("feed");
    if (!feed) return;
    const item = document.createElement("li");
    item.dataset.eventId = event.event_id;
    item.dataset.eventType = event.event_type;
    if (event.thumbnail) {
      const img = document.createElement("img");
      img.src = event.thumbnail; img.alt = ""; img.width = 160; img.loading = "lazy";
      item.append(img);
    }
    item.append(document.createTextNode(describe(event)));
    feed.prepend(item);
    while (feed.children.length > 200) feed.lastElementChild.remove();
  }

  function onState(message) {
    const raid = message.raid || {};
    put("state", message.running === false ? `${message.state || "–"} (stopped)` : message.state);
    put("raid.map", raid.map); put("raid.character", raid.character); put("raid.mode", raid.mode);
    put("raid.kills", raid.kills); put("raid.elapsed", raid.elapsed_seconds == null ? null : clock(raid.elapsed_seconds));
  }

  function onStats(message) {
    put("stats.detection_fps", message.detection_fps);
    put("stats.dropped", message.dropped);
    put("stats.latency", message.latency_ms == null ? null : `${message.latency_ms} ms`);
  }

  function onLabel(message) {
    const label = message.label || {};
    put("label.tactic", label.tactic); put("label.health", label.health); put("label.shield", label.shield);
    put("label.window", `${clock(message.start)}–${clock(message.end)}${message.source === "ocr" ? " (OCR only)" : ""}`);
    if (message.window_end_at) put("label.latency", `${Math.max(0, Date.now() - Date.parse(message.window_end_at))} ms`);
    const box = field("label");
    if (box) box.dataset.tactic = label.tactic || "";
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const since = lastEvent === null ? "" : `?since=${lastEvent}`;
    const socket = new WebSocket(`${scheme}://${location.host}${root.dataset.liveFeed}${since}`);
    socket.onopen = () => { retry = 500; put("connection", "connected"); root.dataset.connected = "true"; };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "event") onEvent(data);
      else if (data.type === "state") onState(data);
      else if (data.type === "stats") onStats(data);
      else if (data.type === "label") onLabel(data);
    };
    socket.onclose = () => {
      root.dataset.connected = "false";
      put("connection", "reconnecting…");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }
  connect();
})();
