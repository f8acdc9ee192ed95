// The page: one /compare request per query draws three ranked columns; a click on a hit asks
// /explain, a click on a word asks /senses. No framework: plain DOM, built with textContent so
// that document text can never inject markup.
"use strict";

const COLUMNS = ["bm25", "sparse", "hybrid"];
const SAME_SENSE = 0.5; // meaning cosine from which two uses of a word count as one sense
// Okabe-Ito colours, readable with colour-vision deficiencies (the PNG plots use the same).
const CLUSTER_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442"];

const $ = (sel) => document.querySelector(sel);
const state = { query: "", k: 10, words: {} };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function getJSON(url) {
  const response = await fetch(url);
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function setStatus(text, isError = false) {
  const status = $("#status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

// "same", "other" or "plain" (no head: the word is scored as in BM25).
function senseClass(word) {
  if (word.vocab_id === "oov" || word.note) return "plain";
  return word.cosine >= SAME_SENSE ? "same" : "other";
}

function wordTitle(word) {
  const kind = senseClass(word);
  const name = `${word.query_forms.join("/")} (stem ${word.stem})`;
  if (kind === "plain") return `${name}: no sense model, counted as plain BM25`;
  return `${name}: meaning cosine ${word.cosine.toFixed(2)} (${kind === "same" ? "same sense" : "other sense"})`;
}

// The snippet with every form of a matched word wrapped in a coloured <mark>.
function highlighted(text, words) {
  const forms = new Map();
  for (const w of words) for (const f of w.doc_forms) forms.set(f.toLowerCase(), w);
  const out = el("p", { class: "snippet" });
  if (!forms.size) { out.textContent = text; return out; }
  const escaped = [...forms.keys()].map((f) => f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(${escaped.join("|")})(?![\\p{L}\\p{N}])`, "giu");
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    out.append(text.slice(last, match.index));
    const word = forms.get(match[0].toLowerCase());
    out.append(el("mark", { class: `w ${senseClass(word)}`, title: wordTitle(word) }, match[0]));
    last = match.index + match[0].length;
  }
  out.append(text.slice(last));
  return out;
}

// A coloured word button; ``withCosine`` adds the cosine to its label (the table has a column).
function wordChip(word, withCosine = true) {
  const plain = word.vocab_id === "oov" || word.note;
  const shown = word.query_forms[0] || word.stem; // "appearance" reads better than "appear"
  const label = plain || !withCosine ? shown : `${shown} ${word.cosine.toFixed(2)}`;
  return el("button", {
    type: "button", class: `w ${senseClass(word)}`, title: `${wordTitle(word)}. Click: its senses`,
    "data-stem": word.stem,
    onclick: (event) => { event.stopPropagation(); showSenses(word.query_forms[0] || word.stem); },
  }, label);
}

function movement(docId, rank, bm25Ranks) {
  const before = bm25Ranks.get(docId);
  if (before === undefined) return el("span", { class: "move new", title: "not in BM25's results" }, "new");
  const delta = before - rank;
  if (delta > 0) return el("span", { class: "move up", title: `BM25 rank ${before}` }, `▲${delta}`);
  if (delta < 0) return el("span", { class: "move down", title: `BM25 rank ${before}` }, `▼${-delta}`);
  return el("span", { class: "move same", title: "same rank as BM25" }, "=");
}

function hitCard(hit, column, bm25Ranks) {
  const words = state.words[hit.id] || [];
  const top = el("div", { class: "top" }, el("span", { class: "rank" }, String(hit.rank)));
  if (column !== "bm25") top.append(movement(hit.id, hit.rank, bm25Ranks));
  top.append(el("span", { class: "title" }, hit.title || hit.id), el("span", { class: "score" }, hit.score.toFixed(2)));
  const card = el("li", {
    class: "hit", tabindex: "0", "data-doc": hit.id, "data-column": column,
    onclick: () => showExplanation(hit.id, card),
    onkeydown: (event) => { if (event.key === "Enter") showExplanation(hit.id, card); },
    onmouseenter: () => linkDocument(hit.id, true),
    onmouseleave: () => linkDocument(hit.id, false),
  }, top, highlighted(hit.snippet, words), el("div", { class: "words" }, ...words.map((w) => wordChip(w))));
  return card;
}

// The same document in the other columns lights up, so a reader sees where it moved.
function linkDocument(docId, on) {
  for (const card of document.querySelectorAll(".hit")) {
    card.classList.toggle("linked", on && card.dataset.doc === docId);
  }
}

function render(answer, pending = "") {
  state.words = answer.words;
  const bm25Ranks = new Map(answer.columns.bm25.map((h) => [h.id, h.rank]));
  for (const column of COLUMNS) {
    const list = document.querySelector(`#col-${column} .hits`);
    list.replaceChildren(...answer.columns[column].map((hit) => hitCard(hit, column, bm25Ranks)));
  }
  const count = answer.columns.bm25.length;
  setStatus(count ? pending : "No document contains a word of this query.");
  $("#columns").classList.toggle("pending", Boolean(pending));
}

async function search(query) {
  state.query = query;
  const url = new URL(window.location);
  url.searchParams.set("q", query);
  history.replaceState(null, "", url);
  setStatus("Searching…");
  const base = `/compare?q=${encodeURIComponent(query)}&k=${state.k}`;
  try {
    // Rankings first (one forward pass), then the word colours (one pass per document).
    render(await getJSON(`${base}&words=false`), "Reading the meaning of the matched words…");
    if (state.query !== query) return; // a newer search started meanwhile
    const answer = await getJSON(base);
    if (state.query === query) render(answer);
  } catch (error) {
    setStatus(error.message, true);
  }
}

function openPanel(...children) {
  window.getSelection()?.removeAllRanges(); // a tap on a phone can leave a stray selection
  $("#panel-body").replaceChildren(...children);
  $("#panel").hidden = false;
}

function closePanel() {
  $("#panel").hidden = true;
  for (const card of document.querySelectorAll(".hit.selected")) card.classList.remove("selected");
}

async function showExplanation(docId, card) {
  for (const c of document.querySelectorAll(".hit.selected")) c.classList.remove("selected");
  if (card) card.classList.add("selected");
  openPanel(el("p", { class: "sub" }, "Explaining…"));
  let ex;
  try {
    ex = await getJSON(`/explain?q=${encodeURIComponent(state.query)}&doc=${encodeURIComponent(docId)}`);
  } catch (error) {
    openPanel(el("p", { class: "status error" }, error.message));
    return;
  }
  const top = Math.max(...ex.words.map((w) => Math.abs(w.contribution)), 1e-9);
  const rows = ex.words.map((w) => el("tr", { class: "explain-row" },
    el("td", {}, wordChip(w, false)),
    el("td", {}, w.idf.toFixed(2)),
    el("td", {}, w.tf.toFixed(2)),
    el("td", {}, w.vocab_id === "oov" || w.note ? "–" : w.cosine.toFixed(2)),
    el("td", {}, el("span", { class: "bar", style: `width:${(40 * Math.abs(w.contribution)) / top}px` }),
      " ", w.contribution.toFixed(2))));
  const table = el("table", { id: "explanation" },
    el("thead", {}, el("tr", {}, ...["word", "IDF", "BM25 tf", "meaning cos", "= score"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows,
      el("tr", { class: "total" }, el("td", { colspan: "4" }, "miniCOIL score"), el("td", {}, ex.total.toFixed(2)))));
  const missing = ex.unmatched_query_stems.length
    ? el("p", { class: "note" }, `Query words not in this document: ${ex.unmatched_query_stems.join(", ")}.`) : "";
  openPanel(
    el("h3", {}, ex.title || ex.id),
    el("p", { class: "sub" }, `Document ${ex.id}: each matched word adds IDF × BM25 tf × meaning cosine. Click a word for its senses.`),
    table, missing,
    Object.assign(highlighted(ex.text, ex.words), { className: "doctext" }),
    el("p", { class: "note" }, `IDF: ${ex.idf_source}. Document length ${ex.doc_len} words, average ${ex.avg_len.toFixed(1)}.`));
}

function senseMap(data) {
  const width = 480, height = 280, pad = 16;
  const xs = data.points.map((p) => p[0]), ys = data.points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const sy = (y) => height - pad - ((y - y0) / (y1 - y0 || 1)) * (height - 2 * pad);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `meanings of ${data.word}`);
  const picked = el("p", { class: "picked" }, "Point at (or tap) a dot to read its text.");
  data.points.forEach((p, i) => {
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("cx", sx(p[0]).toFixed(1));
    dot.setAttribute("cy", sy(p[1]).toFixed(1));
    dot.setAttribute("r", "6.5");
    dot.setAttribute("fill", CLUSTER_COLORS[data.clusters[i] % CLUSTER_COLORS.length]);
    dot.setAttribute("fill-opacity", "0.8");
    const title = document.createElementNS(ns, "title");
    title.textContent = data.snippets[i];
    dot.append(title);
    const pick = () => {
      for (const d of svg.querySelectorAll("circle.active")) d.classList.remove("active");
      dot.classList.add("active");
      picked.textContent = data.snippets[i];
    };
    dot.addEventListener("mouseenter", pick);
    dot.addEventListener("click", pick);
    svg.append(dot);
  });
  return [svg, picked];
}

async function showSenses(word) {
  openPanel(el("p", { class: "sub" }, `Reading the meanings of “${word}”…`));
  let data;
  try {
    data = await getJSON(`/senses?word=${encodeURIComponent(word)}`);
  } catch (error) {
    openPanel(el("h3", {}, `Senses of “${word}”`), el("p", { class: "status error" }, error.message));
    return;
  }
  const clusters = data.summaries.map((c) => el("li", {},
    el("span", { class: "swatch", style: `background:${CLUSTER_COLORS[c.index % CLUSTER_COLORS.length]}` }),
    el("b", {}, c.label.length ? c.label.join(", ") : `group ${c.index + 1}`),
    ` (${c.size} documents), typical uses:`,
    el("ul", { class: "examples" }, ...c.examples.map((i) => el("li", {}, data.snippets[i])))));
  const groups = data.k === 1 ? "one sense: no separate groups" : `${data.k} groups`;
  openPanel(
    el("h3", {}, `Senses of “${data.word}”`),
    el("p", { class: "sub" }, `Each dot is one document using the word, placed by its meaning vector (${data.points.length} documents, ${groups}). Close dots: same sense.`),
    el("div", { class: "sensemap", id: "sensemap" }, ...senseMap(data)),
    el("ul", { class: "clusters" }, ...clusters));
}

function showColumn(column) {
  $("#columns").dataset.show = column;
  for (const tab of document.querySelectorAll("#tabs button")) tab.classList.toggle("active", tab.dataset.col === column);
}

document.addEventListener("DOMContentLoaded", () => {
  $("#search").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = $("#q").value.trim();
    if (query) search(query);
  });
  $("#close").addEventListener("click", closePanel);
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") closePanel(); });
  for (const tab of document.querySelectorAll("#tabs button")) tab.addEventListener("click", () => showColumn(tab.dataset.col));
  const initial = new URLSearchParams(window.location.search).get("q");
  if (initial) { $("#q").value = initial; search(initial); }
});
