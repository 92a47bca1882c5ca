// The labelling queue's keyboard, like review's: j/k move, a accept, d no object, e edit boxes, n/p page.
// Cards are server-rendered; actions go through htmx and swap the card back, so a reload shows the truth.
(() => {
  "use strict";
  const root = document.getElementById("queue");
  if (!root || !window.htmx) return;
  let selectedId = null;

  const list = () => document.getElementById("queue-list");
  const cards = () => Array.from(list().querySelectorAll("li[data-frame-id]"));
  const selected = () => (selectedId ? document.getElementById("frame-" + selectedId) : null);

  function select(card) {
    for (const old of list().querySelectorAll('[aria-selected="true"]')) old.setAttribute("aria-selected", "false");
    if (!card) { selectedId = null; return; }
    card.setAttribute("aria-selected", "true");
    selectedId = card.dataset.frameId;
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const all = cards();
    if (!all.length) return;
    const i = all.indexOf(selected());
    if (i < 0) { select(step > 0 ? all[0] : all[all.length - 1]); return; }
    const next = i + step;
    if (next >= all.length) return page("next");
    if (next < 0) return page("prev");
    select(all[next]);
  }

  let pagingBack = false; // going back lands on the page's last card, forward on its first

  function page(which) {
    const link = list().querySelector(`[data-pager="${which}"]`);
    if (!link) return;
    pagingBack = which === "prev";
    link.click();
  }

  // The editor comes back here (Enter there, or its back link), to the page it was opened from.
  function editorUrl(card) {
    const link = card.querySelector('[data-act="edit"]');
    return `${link.getAttribute("href")}?next=${encodeURIComponent(location.pathname + location.search)}`;
  }

  function act(action, card) {
    if (!card) return;
    if (action === "edit") { location.href = editorUrl(card); return; }
    const button = card.querySelector(`[data-act="${action}"]`);
    const id = card.dataset.frameId;
    htmx.ajax("POST", button.getAttribute("hx-post"), {
      source: button, target: card, swap: "outerHTML", values: { rank: card.dataset.rank },
    }).then(() => {
      const fresh = document.getElementById("frame-" + id);
      const all = cards();
      select(all[all.indexOf(fresh) + 1] || fresh);
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, select, textarea")) return;
    const keys = {
      j: () => move(1), k: () => move(-1), n: () => page("next"), p: () => page("prev"),
      a: () => act("accept", selected()), d: () => act("negative", selected()), e: () => act("edit", selected()),
    };
    const run = keys[event.key];
    if (!run) return;
    event.preventDefault();
    run();
  });

  // A click selects its card; the edit link carries the way back like `e` does.
  root.addEventListener("click", (event) => {
    const card = event.target.closest("li[data-frame-id]");
    if (!card) return;
    select(card);
    if (event.target.closest('[data-act="edit"]')) { event.preventDefault(); act("edit", card); }
  });

  // Labelled frames leave the queue, so the page after a worked one starts past only the cards still unlabelled.
  document.body.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt.dataset?.pager !== "next") return;
    const unlabelled = cards().filter((card) => card.classList.contains("status-candidate")).length;
    event.detail.path = `${list().dataset.base}?start=${Number(list().dataset.start) + unlabelled}`;
  });

  // After paging, the first card of the new page (or the last after going back) is selected, once htmx has
  // settled the new list: its pager links work only from then on (a key pressed earlier would follow the
  // link's plain href and reload the page).
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target.id !== "queue-list" && !event.detail.elt.matches?.("#queue-list")) return;
    const all = cards();
    select(pagingBack ? all[all.length - 1] : all[0]);
    pagingBack = false;
  });

  select(cards()[0] || null);
})();
