// Resumable chunked upload to /api/v1/uploads/ (tus-like): create → PATCH chunks at an offset → 201 = recording.
// The upload id is remembered per file (name, size, mtime) so choosing the same file again resumes it.
const CHUNK = 8 * 1024 * 1024;
const RETRIES = 8;

const form = document.getElementById("upload-form");
const fileInput = document.getElementById("upload-file");
const startButton = document.getElementById("upload-start");
const pauseButton = document.getElementById("upload-pause");
const box = document.getElementById("upload-progress");
const bar = document.getElementById("upload-bar");
const statusLine = document.getElementById("upload-status");

let current = null; // {xhr, paused}

function csrfToken() {
  const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
  return headers["X-CSRFToken"] || "";
}

function storageKey(file) {
  return `vodscope-upload:${file.name}:${file.size}:${file.lastModified}`;
}

function formatBytes(n) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function formatSeconds(s) {
  if (!isFinite(s) || s < 0) return "–";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h ? `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}` : `${m}:${String(sec).padStart(2, "0")}`;
}

function request(method, url, body, headers = {}, onProgress = null) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    current.xhr = xhr;
    xhr.open(method, url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText || "{}"); } catch { data = {detail: xhr.statusText}; }
      resolve({status: xhr.status, data});
    };
    xhr.onerror = () => reject(new Error("network error"));
    xhr.onabort = () => reject(new Error("paused"));
    xhr.send(body);
  });
}

function show(text, kind = "") {
  box.hidden = false;
  statusLine.textContent = text;
  statusLine.className = `small ${kind || "muted"}`;
}

async function openUpload(file) {
  const key = storageKey(file);
  const known = localStorage.getItem(key);
  if (known) {
    const answer = await request("GET", known);
    if (answer.status === 200) return {url: known, offset: answer.data.offset};
    localStorage.removeItem(key);
  }
  const fields = new FormData(form);
  const body = {filename: file.name, size: file.size, session_type: fields.get("session_type"), notes: fields.get("notes") || ""};
  if (fields.get("started_at")) body.started_at = fields.get("started_at");
  const created = await request("POST", form.dataset.api, JSON.stringify(body), {"Content-Type": "application/json"});
  if (created.status !== 201) throw Object.assign(new Error(created.data.detail || "the upload was refused"), {final: true});
  localStorage.setItem(key, created.data.url);
  return {url: created.data.url, offset: created.data.offset};
}

async function upload(file) {
  current = {xhr: null, paused: false};
  startButton.hidden = true;
  pauseButton.hidden = false;
  show(`Starting ${file.name}…`);
  const started = performance.now();
  let failures = 0;
  let {url, offset} = await openUpload(file);
  const firstOffset = offset;
  if (offset > 0) show(`Resuming ${file.name} at ${formatBytes(offset)}`);
  while (true) {
    if (current.paused) throw new Error("paused");
    const end = Math.min(offset + (Number(form.dataset.chunk) || CHUNK), file.size);
    let answer;
    try {
      answer = await request("PATCH", url, file.slice(offset, end),
        {"Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset)},
        (loaded) => progress(file, offset + loaded, firstOffset, started));
    } catch (error) {
      if (current.paused || ++failures > RETRIES) throw error;
      show(`Connection lost; retrying (${failures}/${RETRIES})…`, "warn");
      await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** failures, 15000)));
      const state = await request("GET", url).catch(() => null);
      if (state && state.status === 200) offset = state.data.offset;
      continue;
    }
    failures = 0;
    if (answer.status === 201) {
      localStorage.removeItem(storageKey(file));
      bar.value = 100;
      show(`${file.name}: registered as recording #${answer.data.id}`, "success");
      window.htmx?.trigger(document.body, "recordings-changed");
      return;
    }
    if (answer.status === 200 || answer.status === 409) {
      offset = answer.data.offset;
      progress(file, offset, firstOffset, started);
      continue;
    }
    localStorage.removeItem(storageKey(file));
    throw Object.assign(new Error(answer.data.detail || `upload failed (HTTP ${answer.status})`), {final: true});
  }
}

function progress(file, sent, firstOffset, started) {
  bar.value = (100 * sent) / file.size;
  const seconds = (performance.now() - started) / 1000;
  const rate = seconds > 0 ? (sent - firstOffset) / seconds : 0;
  const eta = rate > 0 ? (file.size - sent) / rate : Infinity;
  show(`${formatBytes(sent)} of ${formatBytes(file.size)} · ${formatBytes(rate)}/s · ETA ${formatSeconds(eta)}`);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = fileInput.files[0];
  if (!file) return;
  try {
    await upload(file);
  } catch (error) {
    if (error.message === "paused") show(`Paused at ${bar.value.toFixed(0)}%; press Upload to resume.`);
    else show(error.final ? error.message : `${error.message}; press Upload to resume.`, "error");
  } finally {
    startButton.hidden = false;
    pauseButton.hidden = true;
  }
});

pauseButton.addEventListener("click", () => {
  if (!current) return;
  current.paused = true;
  current.xhr?.abort();
});
