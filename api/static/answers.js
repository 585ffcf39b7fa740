// How a reply looks: an answer with its confidence and highlighted sources, a
// "no answer" with the closest passages, or a loading card. Pure rendering: no state.

import { codePointLength, el, percent, utf16Index, viewUrl } from "./common.js";
import { confirmedBadge, feedbackBar, passageShown } from "./feedback.js";

const EXCERPT_RADIUS = 200; // characters of context either side of an answer

function confidenceBadge(value) {
  const v = Number(value) || 0;
  const level = v >= 0.7 ? "high" : v >= 0.4 ? "medium" : "low";
  return el("span", { class: `confidence confidence-${level}`, text: `${percent(v)} confidence` });
}

function confidenceMeter(value) {
  const fill = el("span", { class: "meter-fill" });
  // CSSOM writes are allowed by the CSP (only style="" attributes are not).
  fill.style.width = percent(value);
  return el("div", { class: "meter", attrs: { "aria-hidden": "true" } }, fill);
}

function isSpace(ch) {
  return ch === " " || ch === "\n" || ch === "\t" || ch === "\r";
}

/**
 * Fill `node` with the citation's passage, the answer (code points [rel0, rel1) of the
 * passage) in a <mark>. Unless `full`, only a window around the answer is shown.
 * Returns whether some of the passage was left out.
 */
function renderPassage(node, citation, rel, full) {
  const text = citation.text || "";
  node.replaceChildren();
  const length = codePointLength(text);
  const hasAnswer = Array.isArray(rel) && rel[0] >= 0 && rel[1] > rel[0] && rel[1] <= length;
  const a = hasAnswer ? utf16Index(text, rel[0]) : 0;
  const b = hasAnswer ? utf16Index(text, rel[1]) : 0;
  let from = 0;
  let to = text.length;
  if (!full) {
    if (hasAnswer) {
      from = Math.max(0, a - EXCERPT_RADIUS);
      to = Math.min(text.length, b + EXCERPT_RADIUS);
    } else {
      to = Math.min(text.length, EXCERPT_RADIUS * 2);
    }
    // Cut at word boundaries, never inside the answer.
    if (from > 0) {
      let i = from;
      while (i < (hasAnswer ? a : text.length) && !isSpace(text[i])) i += 1;
      if (i < (hasAnswer ? a : text.length)) from = i + 1;
    }
    if (to < text.length) {
      let i = to;
      while (i > (hasAnswer ? b : 0) && !isSpace(text[i])) i -= 1;
      if (i > (hasAnswer ? b : 0)) to = i;
    }
  }
  if (from > 0) node.append("… ");
  if (hasAnswer) {
    const mark = el("mark", { text: text.slice(a, b) });
    node.append(document.createTextNode(text.slice(from, a)), mark, document.createTextNode(text.slice(b, to)));
  } else {
    node.append(document.createTextNode(text.slice(from, to)));
  }
  if (to < text.length) node.append(" …");
  passageShown(node, citation, from, from > 0 ? 2 : 0); // where selected words lie
  return from > 0 || to < text.length;
}

function sourceItem(citation) {
  const title = citation.title || "Untitled document";
  const hasAnswer = Number.isInteger(citation.answer_start) && Number.isInteger(citation.answer_end);
  const rel = hasAnswer
    ? [citation.answer_start - citation.start, citation.answer_end - citation.start]
    : null;
  const passage = el("blockquote", { class: "passage" });
  const truncated = renderPassage(passage, citation, rel, false);

  const href = hasAnswer
    ? viewUrl(citation.doc_id, citation.answer_start, citation.answer_end)
    : viewUrl(citation.doc_id, citation.start, citation.end);
  const linkText = hasAnswer ? "Open in document" : "Open passage in document";
  const actions = el(
    "div",
    { class: "source-actions" },
    el("a", {
      class: "source-link",
      text: linkText,
      attrs: { href, "aria-label": `${linkText}: ${title}` },
    }),
  );
  if (truncated) {
    const toggle = el("button", {
      class: "link-btn",
      text: "Show whole passage",
      attrs: { type: "button", "aria-expanded": "false" },
    });
    toggle.addEventListener("click", () => {
      const expanded = toggle.getAttribute("aria-expanded") === "true";
      renderPassage(passage, citation, rel, !expanded);
      toggle.setAttribute("aria-expanded", String(!expanded));
      toggle.textContent = expanded ? "Show whole passage" : "Show less";
    });
    actions.append(toggle);
  }

  return el(
    "li",
    { class: "source" },
    el(
      "div",
      { class: "source-head" },
      el("span", { class: "source-title", text: title }),
      citation.pages?.length
        ? el("span", {
            class: "source-pages",
            text: citation.pages.length === 1
              ? `p. ${citation.pages[0]}`
              : `pp. ${citation.pages[0]}–${citation.pages.at(-1)}`,
          })
        : locationText(citation.location)
          ? el("span", { class: "source-location", text: locationText(citation.location) })
          : null,
      el("span", {
        class: "source-score",
        text: `match ${percent(citation.score)}`,
        attrs: { title: "How closely the passage matched the question" },
      }),
    ),
    passage,
    actions,
  );
}

// Where a passage is in its file, as people write it: "slide 2", "Prices!A14",
// "row 14", "Scope › Notice", "attachment.txt" (rag.core.locations.describe).
function locationText(location) {
  if (!location) return "";
  if (location.sheet) return location.row ? `${location.sheet}!A${location.row}` : location.sheet;
  for (const key of ["page", "slide", "row"]) {
    if (location[key]) return `${key} ${location[key]}`;
  }
  if (location.headings?.length) return location.headings.join(" › ");
  return location.part || "";
}

function sourceList(citations) {
  const list = el("ol", { class: "sources" });
  for (const citation of citations || []) list.append(sourceItem(citation));
  return list;
}

function alternatives(answers, summary) {
  const list = el("ol", { class: "alt-list" });
  for (const alt of answers) {
    const sources = alt.sources || [];
    list.append(
      el(
        "li",
        { class: "alt" },
        el(
          "div",
          { class: "alt-head" },
          el("span", { class: "alt-text", text: alt.text }),
          confidenceBadge(alt.confidence),
        ),
        el("p", { class: "section-title", text: `Sources (${sources.length})` }),
        sourceList(sources),
      ),
    );
  }
  return el("details", { class: "alternatives" }, el("summary", { text: summary }), list);
}

function timing(response) {
  const ms = Number(response.took_ms);
  return Number.isFinite(ms)
    ? el("p", { class: "reply-meta", text: `Answered in ${Math.round(ms).toLocaleString("en")} ms` })
    : null;
}

export function answerCard(response) {
  const answers = response.answers || [];
  const main = answers.find((a) => a.text === response.answer) || answers[0];
  const others = answers.filter((a) => a !== main);
  const sources = main?.sources?.length ? main.sources : response.passages || [];
  return el(
    "div",
    { class: "reply card reply-answer" },
    el(
      "div",
      { class: "reply-head" },
      el("span", { class: "reply-label", text: "Answer" }),
      confirmedBadge(response),
      confidenceBadge(response.confidence),
    ),
    el("p", { class: "answer-text", text: response.answer }),
    confidenceMeter(response.confidence),
    el("h3", { class: "section-title", text: `Sources (${sources.length})` }),
    sourceList(sources),
    others.length
      ? alternatives(others, `Other possible answers (${others.length})`)
      : null,
    feedbackBar(response),
    timing(response),
  );
}

export function abstainCard(response) {
  const passages = response.passages || [];
  const guesses = response.answers || [];
  return el(
    "div",
    { class: "reply card reply-abstain" },
    el(
      "div",
      { class: "reply-head" },
      el("span", { class: "reply-label", text: "No answer" }),
      confirmedBadge(response),
    ),
    el("p", {
      class: "abstain-text",
      text: response.confirmed
        ? "A user confirmed that the documents do not answer this question."
        : "The documents do not answer this question.",
    }),
    el("p", {
      class: "hint",
      text: passages.length
        ? "Nothing in them answers it with enough confidence. These are the closest passages:"
        : "No passage came close to it.",
    }),
    passages.length ? el("h3", { class: "section-title", text: `Closest passages (${passages.length})` }) : null,
    passages.length ? sourceList(passages) : null,
    guesses.length ? alternatives(guesses, `Low-confidence guesses (${guesses.length})`) : null,
    feedbackBar(response),
    timing(response),
  );
}

export function loadingCard() {
  return el(
    "div",
    { class: "reply card reply-loading", attrs: { role: "status", "aria-busy": "true" } },
    el("span", { class: "spinner", attrs: { "aria-hidden": "true" } }),
    el("span", { text: "Searching the documents…" }),
  );
}
