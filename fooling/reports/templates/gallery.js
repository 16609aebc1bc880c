"use strict";
// The gallery: cards built from the embedded gallery.json, with search, sort, a fooled-threshold
// and a detail view. Everything is local: images are files beside this page, loaded lazily.
const data = JSON.parse(document.getElementById("page-data").textContent);
const cells = data.cells;
const $ = (id) => document.getElementById(id);
// Eight places tell 0.9999 from 0.99999999 (what fooling is about), cut rather than rounded so
// that no confidence shows as 1; tiny probabilities need exponents.
const conf = (p) => (p >= 1e-4 ? (Math.floor(p * 1e8) / 1e8).toFixed(8) : p.toExponential(2));
const int = (n) => n.toLocaleString("en");
const names = cells.map((c) => c.class.toLowerCase());
const cards = cells.map(makeCard);

// Queries to success: when the class first met the run's threshold (gallery.json's "reached";
// galleries made before it was recorded have no such key and show nothing).
function reachedText(cell) {
  if (!("reached" in cell)) return null;
  const reached = cell.reached;
  if (reached === null) return "not at threshold";
  if (reached.evaluation === null) {
    return `fooled by generation ${int(reached.generation)} ` +
      `(≤ ${int(reached.evaluations_by)} evaluations)`;
  }
  const plural = reached.evaluation === 1 ? "" : "s";
  return `fooled after ${int(reached.evaluation)} evaluation${plural} ` +
    `(generation ${int(reached.generation)})`;
}

// Small images are scaled up with visible pixels, not blurred; large ones scale smoothly.
function pixelateIfSmall(img) {
  img.classList.toggle("pixelated", img.naturalWidth < img.clientWidth);
}

function makeCard(cell, index) {
  const card = document.createElement("article");
  card.className = "card";
  card.tabIndex = 0;
  card.setAttribute("role", "button");
  card.dataset.index = index;
  const img = document.createElement("img");
  img.loading = "lazy";  // 1000 classes: only the images on screen are read
  img.decoding = "async";
  img.alt = `fooling image for class ${cell.class}`;
  img.addEventListener("load", () => pixelateIfSmall(img));
  img.src = cell.png;
  const title = document.createElement("h3");
  title.textContent = cell.class;
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.textContent = "fooled";
  title.append(badge);
  const lines = [
    `evolved ${conf(cell.confidence)}`,
    `8-bit PNG ${conf(cell.confidence_png)}`,
    `gen ${int(cell.generation)} · eval ${int(cell.evaluation)}`,
  ].map((text) => {
    const p = document.createElement("p");
    p.className = "num";
    p.textContent = text;
    return p;
  });
  const queries = reachedText(cell);
  if (queries !== null) {
    const p = document.createElement("p");
    p.className = "num reached";
    p.textContent = queries;
    lines.push(p);
  }
  card.append(img, title, ...lines);
  card.addEventListener("click", () => openDetail(index));
  card.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      openDetail(index);
    }
  });
  return card;
}

const sorters = {
  class: (a, b) => cells[a].class.localeCompare(cells[b].class, "en", { numeric: true }),
  confidence_png: (a, b) => cells[b].confidence_png - cells[a].confidence_png,
  confidence: (a, b) => cells[b].confidence - cells[a].confidence,
  generation: (a, b) => cells[a].generation - cells[b].generation,
};

function sortCards() {
  const order = cells.map((_, i) => i).sort(sorters[$("sort").value]);
  if ($("reverse").checked) order.reverse();
  const fragment = document.createDocumentFragment();
  for (const i of order) fragment.append(cards[i]);
  $("cards").append(fragment);  // moves the cards; nothing is rebuilt or reloaded
}

function filterCards() {
  const query = $("search").value.trim().toLowerCase();
  cards.forEach((card, i) => { card.hidden = !names[i].includes(query); });
  // The address says what is shown, so it can be shared; no search, no hash.
  history.replaceState(null, "", query ? `#q=${encodeURIComponent(query)}` : location.pathname);
  updateCount();
}

function markFooled() {
  const threshold = Number($("threshold").value);
  cards.forEach((card, i) => card.classList.toggle("fooled", cells[i].confidence_png >= threshold));
  updateCount();
}

function updateCount() {
  const shown = cards.filter((card) => !card.hidden).length;
  const fooled = cards.filter((card) => card.classList.contains("fooled")).length;
  $("count").textContent =
    `${int(shown)} of ${int(cells.length)} shown · ${int(fooled)} fooled ` +
    `(8-bit PNG ≥ ${$("threshold").value})`;
}

function row(cellsText, header = false) {
  const tr = document.createElement("tr");
  for (const text of cellsText) {
    const td = document.createElement(header ? "th" : "td");
    if (text instanceof Node) td.append(text); else td.textContent = text;
    tr.append(td);
  }
  return tr;
}

function openDetail(index) {
  const cell = cells[index];
  $("detail-title").textContent = cell.class;
  const image = $("detail-image");
  image.classList.remove("pixelated");
  image.onload = () => pixelateIfSmall(image);
  image.src = cell.png_large || cell.png;
  image.alt = `fooling image for class ${cell.class}, large`;
  $("detail-facts").replaceChildren(
    row(["evolved confidence", conf(cell.confidence)]),
    row(["8-bit PNG confidence", conf(cell.confidence_png)]),
    row(["8-bit PNG read as", cell.png_argmax]),
    row(["generation", int(cell.generation)]),
    row(["evaluation", int(cell.evaluation)]),
    ...(reachedText(cell) === null ? [] : [row([`at ${data.threshold}`, reachedText(cell)])]),
  );
  const top = cell.top5 || [];
  $("top5").replaceChildren(
    row(["class", "probability", ""], true),
    ...top.map((t) => {
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = `${Math.max(1, 120 * t.probability)}px`;
      return row([t.class, conf(t.probability), bar]);
    }),
  );
  if (!top.length) $("top5").append(row(["not in gallery.json: run fooling gallery again"]));
  const network = cell.network;
  $("network").hidden = !network;
  if (network) {
    $("network-image").src = network.png;
    $("network-link").href = network.json;
    $("network-json").src = network.json;  // read only when a detail view asks for it
  }
  $("detail").showModal();
}

$("detail-close").addEventListener("click", () => $("detail").close());
$("detail").addEventListener("click", (event) => {
  if (event.target === $("detail")) $("detail").close();  // a click on the backdrop
});
$("search").addEventListener("input", filterCards);
$("sort").addEventListener("change", sortCards);
$("reverse").addEventListener("change", sortCards);
$("threshold").addEventListener("input", markFooled);

// A link ending in #q=penguin opens with that search (filterCards keeps the hash up to date).
function searchFromLink() {
  $("search").value = new URLSearchParams(location.hash.slice(1)).get("q") || "";
  filterCards();
}
window.addEventListener("hashchange", searchFromLink);

$("threshold").value = data.threshold;
sortCards();
searchFromLink();
markFooled();
