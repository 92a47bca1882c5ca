// The box editor: one frame on a <canvas>, its boxes kept normalised (0..1) exactly as the server stores them.
// Mouse: drag on empty space draws a box, drag a box moves it, drag a handle resizes it. Keys: see the page.
// Save posts the whole set as JSON; the answer (the boxes as stored) replaces the local copy.
(() => {
  "use strict";
  const root = document.getElementById("editor");
  if (!root) return;
  const config = JSON.parse(document.getElementById("editor-config").textContent);
  const stage = document.getElementById("editor-stage");
  const canvas = document.getElementById("editor-canvas");
  const ctx = canvas.getContext("2d");
  const classSelect = document.getElementById("editor-class");
  const statusLine = document.getElementById("editor-status");
  const zoomLabel = document.getElementById("editor-zoom");
  const boxList = document.getElementById("editor-boxes");
  const COLOURS = ["#ffb347", "#4da3ff", "#47c97a", "#ff5c5c", "#c77dff", "#3ddbd9", "#ffe066", "#ff8fab", "#a0c4ff"];
  const HANDLE = 5; // half the side of a handle, in screen pixels
  const MIN_DRAG = 4; // screen pixels: a shorter drag is a click
  const image = new Image();
  let boxes = config.boxes.map((b) => ({ label: b.label, x0: b.box[0], y0: b.box[1], x1: b.box[2], y1: b.box[3], event: b.event }));
  let selected = boxes.length ? 0 : -1;
  let scale = 1; // screen pixels per image pixel
  let drag = null;
  let dirty = false;
  const past = [];
  const future = [];

  const colour = (label) => COLOURS[Math.max(0, config.classes.indexOf(label)) % COLOURS.length];
  const width = () => image.naturalWidth || 1;
  const height = () => image.naturalHeight || 1;
  const clamp = (v) => Math.min(1, Math.max(0, v));
  const snapshot = () => JSON.stringify(boxes);

  function remember() {
    past.push(snapshot());
    if (past.length > 200) past.shift();
    future.length = 0;
    markDirty();
  }

  function restore(from, to) {
    if (!from.length) return;
    to.push(snapshot());
    boxes = JSON.parse(from.pop());
    selected = Math.min(selected, boxes.length - 1);
    markDirty();
    draw();
  }

  function markDirty() {
    dirty = true;
    setStatus("Unsaved changes", "dirty");
  }

  function setStatus(text, kind) {
    statusLine.textContent = text;
    statusLine.className = `save-state ${kind || "muted"}`;
  }

  function setZoom(next, anchor) {
    const old = scale;
    scale = Math.min(8, Math.max(0.1, next));
    canvas.width = Math.round(width() * scale);
    canvas.height = Math.round(height() * scale);
    zoomLabel.textContent = `${Math.round(scale * 100)}%`;
    if (anchor) { // keep the point under the cursor (or the stage's centre) where it was
      stage.scrollLeft = (stage.scrollLeft + anchor.x) * (scale / old) - anchor.x;
      stage.scrollTop = (stage.scrollTop + anchor.y) * (scale / old) - anchor.y;
    }
    draw();
  }

  function fit() {
    setZoom(Math.min((stage.clientWidth - 2) / width(), (stage.clientHeight - 2) / height()));
  }

  const toScreen = (b) => ({ x0: b.x0 * canvas.width, y0: b.y0 * canvas.height, x1: b.x1 * canvas.width, y1: b.y1 * canvas.height });

  function handles(b) {
    const s = toScreen(b);
    const mx = (s.x0 + s.x1) / 2;
    const my = (s.y0 + s.y1) / 2;
    return [["nw", s.x0, s.y0], ["n", mx, s.y0], ["ne", s.x1, s.y0], ["e", s.x1, my],
      ["se", s.x1, s.y1], ["s", mx, s.y1], ["sw", s.x0, s.y1], ["w", s.x0, my]];
  }

  function draw() {
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (image.complete && image.naturalWidth) ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    ctx.font = "600 12px system-ui, sans-serif";
    boxes.forEach((b, i) => {
      const s = toScreen(b);
      ctx.strokeStyle = colour(b.label);
      ctx.lineWidth = i === selected ? 3 : 2;
      ctx.strokeRect(s.x0, s.y0, s.x1 - s.x0, s.y1 - s.y0);
      const text = `${i + 1} ${b.label}`;
      const tw = ctx.measureText(text).width + 8;
      const ty = s.y0 >= 16 ? s.y0 - 16 : s.y1;
      ctx.fillStyle = colour(b.label);
      ctx.fillRect(s.x0 - 1, ty, tw, 16);
      ctx.fillStyle = "#111";
      ctx.fillText(text, s.x0 + 3, ty + 12);
    });
    if (selected >= 0 && boxes[selected]) {
      ctx.fillStyle = "#fff";
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 1;
      for (const [, x, y] of handles(boxes[selected])) {
        ctx.fillRect(x - HANDLE, y - HANDLE, HANDLE * 2, HANDLE * 2);
        ctx.strokeRect(x - HANDLE, y - HANDLE, HANDLE * 2, HANDLE * 2);
      }
    }
    if (drag && drag.mode === "new" && drag.moved) {
      ctx.setLineDash([6, 4]);
      ctx.strokeStyle = colour(classSelect.value);
      ctx.lineWidth = 2;
      ctx.strokeRect(drag.x, drag.y, drag.cx - drag.x, drag.cy - drag.y);
      ctx.setLineDash([]);
    }
    listBoxes();
  }

  function listBoxes() {
    boxList.replaceChildren(...boxes.map((b, i) => {
      const item = document.createElement("li");
      item.dataset.index = i;
      item.setAttribute("aria-selected", String(i === selected));
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colour(b.label);
      const coords = document.createElement("span");
      coords.className = "coords";
      coords.textContent = ` ${Math.round(b.x0 * width())},${Math.round(b.y0 * height())} ${Math.round((b.x1 - b.x0) * width())}×${Math.round((b.y1 - b.y0) * height())}`;
      item.append(swatch, b.label, coords);
      return item;
    }));
  }

  function select(index) {
    selected = index;
    if (index >= 0 && boxes[index]) classSelect.value = boxes[index].label;
    draw();
  }

  function pointer(event) {
    const r = canvas.getBoundingClientRect();
    return { x: event.clientX - r.left, y: event.clientY - r.top };
  }

  function hit(p) {
    if (selected >= 0 && boxes[selected]) {
      const handle = handles(boxes[selected]).find(([, x, y]) => Math.abs(p.x - x) <= HANDLE + 2 && Math.abs(p.y - y) <= HANDLE + 2);
      if (handle) return { index: selected, handle: handle[0] };
    }
    // The smallest box under the pointer: a box inside another stays reachable.
    let best = -1;
    let bestArea = Infinity;
    boxes.forEach((b, i) => {
      const s = toScreen(b);
      const area = (s.x1 - s.x0) * (s.y1 - s.y0);
      if (p.x >= s.x0 && p.x <= s.x1 && p.y >= s.y0 && p.y <= s.y1 && area < bestArea) { best = i; bestArea = area; }
    });
    return best >= 0 ? { index: best, handle: null } : null;
  }

  canvas.addEventListener("mousedown", (event) => {
    if (event.button !== 0) return;
    canvas.focus();
    const p = pointer(event);
    const found = hit(p);
    if (found) {
      select(found.index);
      drag = { mode: found.handle || "move", x: p.x, y: p.y, start: { ...boxes[found.index] }, before: snapshot(), moved: false };
    } else {
      drag = { mode: "new", x: p.x, y: p.y, cx: p.x, cy: p.y, moved: false };
    }
    event.preventDefault();
  });

  window.addEventListener("mousemove", (event) => {
    if (!drag) return;
    const p = pointer(event);
    if (Math.abs(p.x - drag.x) + Math.abs(p.y - drag.y) >= MIN_DRAG) drag.moved = true;
    if (!drag.moved) return;
    if (drag.mode === "new") {
      drag.cx = Math.min(canvas.width, Math.max(0, p.x));
      drag.cy = Math.min(canvas.height, Math.max(0, p.y));
    } else {
      reshape(boxes[selected], drag.start, drag.mode, (p.x - drag.x) / canvas.width, (p.y - drag.y) / canvas.height);
    }
    draw();
  });

  // Move keeps the box inside the frame whole; a handle moves only its own sides.
  function reshape(box, start, mode, dx, dy) {
    if (mode === "move") {
      const w = start.x1 - start.x0;
      const h = start.y1 - start.y0;
      box.x0 = Math.min(1 - w, Math.max(0, start.x0 + dx));
      box.y0 = Math.min(1 - h, Math.max(0, start.y0 + dy));
      box.x1 = box.x0 + w;
      box.y1 = box.y0 + h;
      return;
    }
    if (mode.includes("w")) box.x0 = clamp(start.x0 + dx);
    if (mode.includes("e")) box.x1 = clamp(start.x1 + dx);
    if (mode.includes("n")) box.y0 = clamp(start.y0 + dy);
    if (mode.includes("s")) box.y1 = clamp(start.y1 + dy);
  }

  window.addEventListener("mouseup", () => {
    if (!drag) return;
    const done = drag;
    drag = null;
    if (done.mode === "new") {
      if (done.moved) {
        remember();
        boxes.push({
          label: classSelect.value,
          x0: clamp(Math.min(done.x, done.cx) / canvas.width), y0: clamp(Math.min(done.y, done.cy) / canvas.height),
          x1: clamp(Math.max(done.x, done.cx) / canvas.width), y1: clamp(Math.max(done.y, done.cy) / canvas.height),
          event: null,
        });
        selected = boxes.length - 1;
      } else {
        selected = -1;
      }
    } else if (done.moved) {
      normalise(boxes[selected]);
      past.push(done.before);
      future.length = 0;
      markDirty();
    }
    draw();
  });

  function normalise(b) {
    [b.x0, b.x1] = [Math.min(b.x0, b.x1), Math.max(b.x0, b.x1)];
    [b.y0, b.y1] = [Math.min(b.y0, b.y1), Math.max(b.y0, b.y1)];
  }

  function nudge(dx, dy, resize) {
    const b = boxes[selected];
    if (!b) return;
    remember();
    const start = { ...b };
    reshape(b, start, resize ? "se" : "move", dx / width(), dy / height());
    normalise(b);
    draw();
  }

  function setClass(index) {
    const name = config.classes[index];
    if (!name) return;
    classSelect.value = name;
    const b = boxes[selected];
    if (b && b.label !== name) {
      remember();
      b.label = name;
      draw();
    }
  }

  function deleteSelected() {
    if (!boxes[selected]) return;
    remember();
    boxes.splice(selected, 1);
    selected = Math.min(selected, boxes.length - 1);
    draw();
  }

  async function save(thenBack) {
    setStatus("Saving…", "muted");
    const body = { boxes: boxes.map((b) => ({ label: b.label, box: [b.x0, b.y0, b.x1, b.y1], event: b.event })) };
    let answer;
    try {
      const response = await fetch(config.save, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      answer = await response.json();
      if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    } catch (error) {
      setStatus(`Not saved: ${error.message}`, "failed");
      return;
    }
    boxes = answer.boxes.map((b) => ({ label: b.label, x0: b.box[0], y0: b.box[1], x1: b.box[2], y1: b.box[3], event: b.event }));
    selected = Math.min(selected, boxes.length - 1);
    dirty = false;
    setStatus(`Saved: ${boxes.length} box${boxes.length === 1 ? "" : "es"}`, "saved");
    draw();
    if (thenBack) location.href = config.back;
  }

  function csrfToken() {
    const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    return headers["X-CSRFToken"] || "";
  }

  function zoomBy(factor) {
    setZoom(scale * factor, { x: stage.clientWidth / 2, y: stage.clientHeight / 2 });
  }

  const tools = {
    "zoom-in": () => zoomBy(1.25), "zoom-out": () => zoomBy(0.8), fit, undo: () => restore(past, future),
    delete: deleteSelected, save: () => save(false),
  };
  root.addEventListener("click", (event) => {
    const tool = event.target.closest("[data-tool]");
    if (tool) tools[tool.dataset.tool]();
    const item = event.target.closest("#editor-boxes li");
    if (item) select(Number(item.dataset.index));
  });
  classSelect.addEventListener("change", () => setClass(config.classes.indexOf(classSelect.value)));

  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea") || (event.target === classSelect && !event.ctrlKey)) return;
    const key = event.key;
    if ((key === "Enter" || key === " ") && event.target.closest("button, a")) return; // the control's own click
    const ctrl = event.ctrlKey || event.metaKey;
    const step = event.shiftKey ? 10 : 1;
    let handled = true;
    if (ctrl && key.toLowerCase() === "z") restore(event.shiftKey ? future : past, event.shiftKey ? past : future);
    else if (ctrl && key.toLowerCase() === "y") restore(future, past);
    else if (ctrl && key.toLowerCase() === "s") save(false);
    else if (ctrl) handled = false;
    else if (key === "Delete" || key === "Backspace") deleteSelected();
    else if (/^[1-9]$/.test(key)) setClass(Number(key) - 1);
    else if (key === "ArrowLeft") nudge(-step, 0, event.altKey);
    else if (key === "ArrowRight") nudge(step, 0, event.altKey);
    else if (key === "ArrowUp") nudge(0, -step, event.altKey);
    else if (key === "ArrowDown") nudge(0, step, event.altKey);
    else if (key === "+" || key === "=") zoomBy(1.25);
    else if (key === "-") zoomBy(0.8);
    else if (key === "0") fit();
    else if (key === "Tab" && boxes.length) select(((selected + (event.shiftKey ? -1 : 1)) % boxes.length + boxes.length) % boxes.length);
    else if (key === "Escape") select(-1);
    else if (key === "s") save(false);
    else if (key === "Enter") save(true);
    else handled = false;
    if (handled) event.preventDefault();
  });

  stage.addEventListener("wheel", (event) => {
    if (!event.ctrlKey) return; // plain wheel scrolls; Ctrl+wheel zooms at the cursor
    event.preventDefault();
    const r = stage.getBoundingClientRect();
    setZoom(scale * (event.deltaY < 0 ? 1.15 : 0.87), { x: event.clientX - r.left, y: event.clientY - r.top });
  }, { passive: false });

  window.addEventListener("beforeunload", (event) => {
    if (dirty) event.preventDefault();
  });

  image.addEventListener("load", fit);
  image.addEventListener("error", () => setStatus("The frame's picture could not be loaded (is the video still there?)", "failed"));
  image.src = config.image;
  if (boxes[selected]) classSelect.value = boxes[selected].label;
  window.vodscopeEditor = { boxes: () => JSON.parse(snapshot()), ready: () => image.complete && image.naturalWidth > 0 };
})();
