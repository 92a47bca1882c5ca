// The review page's keyboard: the one place keys are bound. Rows are server-rendered;
// actions go through htmx and swap the row back, so a reload always shows the truth.
(() => {
  "use strict";
  const root = document.getElementById("review");
  if (!root || !window.htmx) return;
  const player = document.getElementById("player");
  const rowActs = document.getElementById("row-acts");
  const eventsUrl = root.dataset.eventsUrl;
  const baseUrl = root.dataset.baseUrl;
  const fps = parseFloat(root.dataset.fps) || 30;
  const duration = parseFloat(root.dataset.duration) || 0;
  const SEEK_LEAD = 1.0; // seconds shown before an event, so its first frame is not missed
  let selectedId = null;

  const list = () => document.getElementById("event-list");
  const rows = () => Array.from(list().querySelectorAll("li[data-event-id]"));
  const rowById = (id) => document.getElementById("ev-" + id);
  const selectedRow = () => (selectedId ? rowById(selectedId) : null);

  function select(row, { focus = true, scroll = true } = {}) {
    for (const old of list().querySelectorAll('[aria-selected="true"]')) {
      if (old !== row) old.setAttribute("aria-selected", "false");
    }
    if (!row) { selectedId = null; return; }
    row.setAttribute("aria-selected", "true");
    selectedId = row.dataset.eventId;
    if (!row.classList.contains("editing")) row.appendChild(rowActs);
    if (scroll) keepInView(row);
    if (focus) row.focus({ preventScroll: true });
  }

  // Keep a row of context above and below the selection; a far jump (l, undo) centres it.
  function keepInView(row) {
    const box = list().getBoundingClientRect();
    const r = row.getBoundingClientRect();
    const h = r.height;
    if (r.bottom < box.top || r.top > box.bottom) {
      list().scrollTop += r.top + h / 2 - (box.top + box.height / 2);
    } else if (r.bottom > box.bottom - h) {
      list().scrollTop += r.bottom - (box.bottom - h);
    } else if (r.top < box.top + h) {
      list().scrollTop -= box.top + h - r.top;
    }
  }

  function neighbour(row, step) {
    const all = rows();
    if (!all.length) return null;
    const i = row ? all.indexOf(row) : -1;
    if (i < 0) return step > 0 ? all[0] : all[all.length - 1];
    return all[Math.min(all.length - 1, Math.max(0, i + step))];
  }

  function nextLowConfidence() {
    const all = rows();
    const start = all.indexOf(selectedRow());
    for (let n = 1; n <= all.length; n++) {
      const row = all[(start + n + all.length) % all.length];
      if (row.classList.contains("low") && row.dataset.status === "unreviewed") return row;
    }
    toast("No unreviewed low-confidence events left in this list");
    return null;
  }

  function seekTo(seconds, play) {
    player.currentTime = Math.max(0, seconds);
    if (play) player.play().catch(() => {});
  }

  function seekRow(row) {
    if (row) seekTo(parseFloat(row.dataset.offset) - SEEK_LEAD, true);
  }

  function act(action, row) {
    if (!row || row.classList.contains("editing")) return;
    const id = row.dataset.eventId;
    if (action === "edit") {
      htmx.ajax("GET", `${eventsUrl}${id}/edit/`, { source: row, target: row, swap: "outerHTML" })
        .then(() => focusForm(rowById(id)));
      return;
    }
    // Move on at once; the swap replaces the old row while the reviewer is already on the next.
    const next = action === "restore" ? row : neighbour(row, 1);
    htmx.ajax("POST", `${eventsUrl}${id}/${action}/`, { source: row, target: row, swap: "outerHTML" })
      .then(() => { if (selectedId === id) select(rowById(id), { scroll: false }); });
    select(next && next !== row ? next : row);
  }

  function addAtPlayer() {
    const t = (player.currentTime || 0).toFixed(2);
    htmx.ajax("GET", `${eventsUrl}add/?t=${t}`, { target: "#add-slot", swap: "outerHTML" })
      .then(() => focusForm(document.getElementById("add-slot")));
  }

  function undo() {
    htmx.ajax("POST", `${baseUrl}undo/`, { source: list(), target: "#event-list", swap: "outerHTML" });
  }

  function backToList() {
    const row = selectedRow();
    if (row) select(row); else list().focus();
  }

  function focusForm(container) {
    const field = container && container.querySelector("select, input");
    if (field) field.focus();
  }

  function cancelForm(form) {
    const url = form.dataset.cancel;
    if (url) {
      const row = form.closest("li");
      const id = row.dataset.eventId;
      htmx.ajax("GET", url, { target: row, swap: "outerHTML" }).then(() => select(rowById(id)));
    } else {
      document.getElementById("add-slot").outerHTML = '<div id="add-slot"></div>';
      backToList();
    }
  }

  function showTypeGroup(form) {
    const type = form.querySelector("[name=event_type]").value;
    for (const group of form.querySelectorAll("fieldset.group")) {
      const on = group.dataset.type === type;
      group.hidden = !on;
      group.disabled = !on;
    }
  }

  let toastTimer = null;
  function toast(message) {
    const box = document.getElementById("toast");
    box.textContent = message;
    box.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => box.classList.remove("show"), 1800);
  }

  function isTyping(target) {
    if (!target || !target.closest) return false;
    if (target.closest("textarea, select, [contenteditable]")) return true;
    const input = target.closest("input");
    return !!input && !["checkbox", "radio", "button", "submit"].includes(input.type);
  }

  function onFormKey(ev, form) {
    if (ev.key === "Escape") { ev.preventDefault(); cancelForm(form); }
    else if (ev.key === "Enter" && !ev.target.closest("button, textarea")) { ev.preventDefault(); form.requestSubmit(); }
  }

  // The label lane: a VLM window label per segment (sorted by start); `t` corrects the one under the playhead.
  const lane = () => document.getElementById("label-lane");
  const popup = () => document.getElementById("label-popup");
  let laneSegments = null; // cached while the lane is the one in the page (a correction swaps it)
  let currentSegment = null;

  function segments() {
    if (!laneSegments || (laneSegments.length && !laneSegments[0].isConnected)) {
      laneSegments = Array.from(document.querySelectorAll("#label-lane .seg"));
    }
    return laneSegments;
  }

  // The window whose span holds `t`; of overlapping windows (a stride shorter than a window), the latest started.
  function windowAt(t) {
    let found = null;
    for (const seg of segments()) {
      if (parseFloat(seg.dataset.start) > t) break;
      if (t < parseFloat(seg.dataset.end)) found = seg;
    }
    return found;
  }

  function markCurrent(t) {
    const seg = windowAt(t);
    if (seg === currentSegment) return;
    if (currentSegment) currentSegment.classList.remove("current");
    if (seg) seg.classList.add("current");
    currentSegment = seg;
  }

  function openCorrection() {
    const seg = windowAt(player.currentTime || 0);
    if (!seg) { toast("No labelled window at the player's time"); return; }
    player.pause();
    htmx.ajax("GET", `${lane().dataset.url}${seg.dataset.id}/correct/`, { target: "#label-popup", swap: "innerHTML" })
      .then(focusTactic);
  }

  function focusTactic() {
    const field = popup() && popup().querySelector("select[name=tactic]");
    if (field) field.focus();
  }

  function closeCorrection() {
    if (popup()) popup().innerHTML = "";
    backToList();
  }

  function onLabelFormKey(ev, form) {
    if (ev.key === "Escape") { ev.preventDefault(); closeCorrection(); return; }
    if (ev.key === "Enter" && !ev.target.closest("button")) { ev.preventDefault(); form.requestSubmit(); return; }
    // Number keys pick a tactic, except while typing a HUD value.
    if (/^[1-9]$/.test(ev.key) && ev.target.type !== "number") {
      const option = form.querySelector(`select[name=tactic] option[data-key="${ev.key}"]`);
      if (option) { ev.preventDefault(); option.selected = true; }
    }
  }

  const KEYS = {
    j: () => select(neighbour(selectedRow(), 1)),
    k: () => select(neighbour(selectedRow(), -1)),
    l: () => { const row = nextLowConfidence(); if (row) { select(row); seekRow(row); } },
    Enter: () => seekRow(selectedRow()),
    a: () => act("approve", selectedRow()),
    d: () => act("delete", selectedRow()),
    e: () => act("edit", selectedRow()),
    r: () => { const row = selectedRow(); if (row && row.dataset.status === "deleted") act("restore", row); },
    n: () => addAtPlayer(),
    t: () => openCorrection(),
    u: () => undo(),
    " ": () => (player.paused ? player.play().catch(() => {}) : player.pause()),
    ",": () => { player.pause(); seekTo(player.currentTime - 1 / fps, false); },
    ".": () => { player.pause(); seekTo(player.currentTime + 1 / fps, false); },
    "?": () => document.getElementById("keys").showModal(),
  };

  document.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    const labelForm = ev.target.closest && ev.target.closest(".label-form");
    if (labelForm) { onLabelFormKey(ev, labelForm); return; }
    // Escape closes an open correction wherever the focus is (a refused form swapped in may not hold it yet).
    if (ev.key === "Escape" && popup() && popup().querySelector(".label-form")) { ev.preventDefault(); closeCorrection(); return; }
    const form = ev.target.closest && ev.target.closest(".event-form");
    if (form) { onFormKey(ev, form); return; }
    if (ev.key === "Escape" && ev.target.closest("#filters")) { ev.preventDefault(); backToList(); return; }
    if (isTyping(ev.target) || document.querySelector("dialog[open]")) return;
    if ((ev.key === "Enter" || ev.key === " ") && ev.target.closest("button, a, input")) return;
    if (ev.key === "Escape") { backToList(); return; }
    const handler = KEYS[ev.key];
    if (!handler) return;
    ev.preventDefault();
    handler();
  });

  root.addEventListener("click", (ev) => {
    const button = ev.target.closest("[data-act]");
    if (button) {
      const action = button.dataset.act;
      if (action === "help") document.getElementById("keys").showModal();
      else if (action === "label-cancel") closeCorrection();
      else if (action === "cancel") cancelForm(button.closest("form"));
      else act(action, button.closest("li[data-event-id]"));
      return;
    }
    const seg = ev.target.closest("#label-lane .seg");
    if (seg) { seekTo(parseFloat(seg.dataset.start), false); markCurrent(parseFloat(seg.dataset.start)); return; }
    const row = ev.target.closest("li[data-event-id]");
    if (row && !row.classList.contains("editing")) { select(row); seekRow(row); }
  });

  root.addEventListener("change", (ev) => {
    if (ev.target.name === "event_type") showTypeGroup(ev.target.closest("form"));
  });

  document.getElementById("timeline").addEventListener("click", (ev) => {
    const box = ev.currentTarget.getBoundingClientRect();
    const total = player.duration || duration;
    if (total) seekTo(((ev.clientX - box.left) / box.width) * total, false);
  });

  const playhead = document.getElementById("playhead");
  const clock = document.getElementById("clock");
  player.addEventListener("timeupdate", () => {
    const total = player.duration || duration;
    const t = player.currentTime;
    if (total) playhead.style.left = `${(100 * t) / total}%`;
    markCurrent(t);
    const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
    clock.textContent = `${h}:${String(m).padStart(2, "0")}:${s.toFixed(1).padStart(4, "0")}`;
  });

  // After any swap (a row, the list after a filter, undo or add) keep the selection and the focus.
  document.body.addEventListener("htmx:afterSettle", () => {
    const row = selectedRow();
    const lost = !document.activeElement || document.activeElement === document.body;
    if (row) select(row, { focus: lost, scroll: false });
    else if (lost) list().focus();
  });
  // While detection runs, each jobs poll carries the events' stamp; a list older than that is fetched again in
  // place, so a reviewer works on the first raids while the rest is found. Selection, focus and scroll stay.
  // It waits while an edit form is open (a new list would drop it) and while the reviewer's own requests are
  // in flight (a list read before their change commits would show the row as it was).
  const REFRESH_HEADER = "X-Review-Refresh";
  const ownRequests = new Map(); // xhr -> when sent
  let listStale = false;
  let keepScroll = null;

  function busy() {
    const now = Date.now();
    for (const [xhr, sent] of ownRequests) if (now - sent > 15000) ownRequests.delete(xhr); // never wait forever
    return ownRequests.size > 0 || !!list().querySelector(".editing");
  }

  function refreshList() {
    if (busy()) { listStale = true; return; }
    listStale = false;
    keepScroll = list().scrollTop;
    htmx.ajax("GET", location.pathname + location.search,
      { target: "#event-list", swap: "outerHTML", headers: { [REFRESH_HEADER]: "1" } });
  }

  const background = (ev) => ev.detail.elt.id === "jobs" || !!(ev.detail.requestConfig && ev.detail.requestConfig.headers[REFRESH_HEADER]);
  document.body.addEventListener("htmx:beforeRequest", (ev) => { if (!background(ev)) ownRequests.set(ev.detail.xhr, Date.now()); });
  document.body.addEventListener("htmx:afterRequest", (ev) => { ownRequests.delete(ev.detail.xhr); });
  document.body.addEventListener("htmx:afterSwap", (ev) => {
    if (ev.detail.elt.id === "event-list" && keepScroll !== null) { ev.detail.elt.scrollTop = keepScroll; keepScroll = null; }
  });
  document.body.addEventListener("review:events", (ev) => {
    if (listStale || ev.detail.stamp !== list().dataset.stamp) refreshList();
  });
  document.body.addEventListener("htmx:afterSettle", () => { if (listStale && !busy()) refreshList(); });

  document.body.addEventListener("htmx:responseError", (ev) => toast(`Not saved: the server answered ${ev.detail.xhr.status}`));
  document.body.addEventListener("htmx:sendError", () => toast("Not saved: the server could not be reached"));
  // A detection run adds events, a proxy changes what the video URL serves: pick both up in place.
  // A vlm job's labels: fetched while it runs when the lane's stamp is older, and once when it ends. An open
  // correction form is never dropped: the lane waits for it to close.
  function refreshLane() {
    if (popup() && popup().querySelector(".label-form")) return;
    htmx.ajax("GET", lane().dataset.url, { target: "#label-lane", swap: "outerHTML", headers: { [REFRESH_HEADER]: "1" } });
  }
  document.body.addEventListener("review:labels", (ev) => { if (ev.detail.stamp !== lane().dataset.laneStamp) refreshLane(); });
  document.body.addEventListener("review:jobs-done", (ev) => {
    refreshList();
    refreshLane();
    if (ev.detail.proxy && !player.src.endsWith("?v=proxy")) {
      const at = player.currentTime;
      player.src = player.src.split("?")[0] + "?v=proxy";
      player.addEventListener("loadedmetadata", () => { player.currentTime = at; }, { once: true });
      for (const note of document.querySelectorAll(".notice")) note.remove();
    }
  });
  // A correction refused (400) comes back as the form saying why: shown in the popup, not a "not saved" toast.
  document.body.addEventListener("htmx:beforeSwap", (ev) => {
    if (ev.detail.xhr.status === 400 && ev.detail.target && ev.detail.target.id === "label-popup") {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });
  document.body.addEventListener("htmx:afterSettle", (ev) => {
    if (ev.target.id === "label-lane") { laneSegments = null; markCurrent(player.currentTime || 0); }
    if (popup() && popup().contains(ev.target)) focusTactic(); // a refused correction, back with its reason
  });
  document.body.addEventListener("review:select", (ev) => select(rowById(ev.detail.id)));
  document.body.addEventListener("review:toast", (ev) => toast(ev.detail.message));

  select(rows()[0] || null, { focus: true, scroll: false });
})();
