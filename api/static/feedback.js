// Feedback under each reply: "Right", "Wrong", "The answer is here" (select the words in a
// cited passage, then mark them) and "Not in the documents", sent to POST /feedback.
// The service uses it at once: the same question, asked again, gets the confirmed
// answer (or no answer), marked as confirmed by a user.

import { api, codePointLength, el, setStatus } from "./common.js";
import { ensureKey, writeFailed } from "./key.js";

// Each passage shown on the page: its citation, the UTF-16 index in the citation's text
// where the shown text begins, and the length of the "… " shown before it.
const shown = new WeakMap();

/** Record what a passage node shows (answers.js calls this whenever it renders one). */
export function passageShown(node, citation, from, lead) {
  shown.set(node, { citation, from, lead });
}

function isSpace(ch) {
  return /\s/.test(ch);
}

/**
 * The document span a selection covers, in code points as the API counts them, or null
 * when it is not inside one passage. Offsets are counted from the passage's start, so
 * the <mark> of the answer and the "… " of an excerpt do not matter.
 */
export function selectedSpan(range, within) {
  const anchor = range.startContainer;
  const element = anchor.nodeType === Node.ELEMENT_NODE ? anchor : anchor.parentElement;
  const node = element?.closest(".passage");
  const info = node && shown.get(node);
  if (!info || !within.contains(node) || !node.contains(range.endContainer)) return null;
  const before = document.createRange();
  before.setStart(node, 0);
  before.setEnd(range.startContainer, range.startOffset);
  const text = info.citation.text || "";
  let a = Math.max(info.from, before.toString().length - info.lead + info.from);
  let b = Math.min(text.length, a + range.toString().length);
  while (a < b && isSpace(text[a])) a += 1;
  while (b > a && isSpace(text[b - 1])) b -= 1;
  if (a >= b) return null;
  const start = info.citation.start + codePointLength(text.slice(0, a));
  return {
    doc_id: info.citation.doc_id,
    start,
    end: start + codePointLength(text.slice(a, b)),
    text: text.slice(a, b),
  };
}

function button(text, cls = "btn btn-small") {
  return el("button", { class: cls, text, attrs: { type: "button" } });
}

/** The span of the reply's answer in its first source, if the API gave one. */
function answerSpan(response) {
  const main = (response.answers || []).find((a) => a.text === response.answer);
  const source = (main?.sources || []).find(
    (s) => Number.isInteger(s.answer_start) && Number.isInteger(s.answer_end),
  );
  return source ? { doc_id: source.doc_id, start: source.answer_start, end: source.answer_end } : null;
}

/** The passage a "not in the documents" is about: the answer's, else the closest one. */
function passageSpan(response) {
  const main = (response.answers || []).find((a) => a.text === response.answer);
  const passage = main?.sources?.[0] || response.passages?.[0];
  return passage ? { doc_id: passage.doc_id, start: passage.start, end: passage.end } : null;
}

async function send(response, verdict, span, status, bar, done) {
  if (!ensureKey()) return;
  const body = {
    question: response.question,
    resolved_question: response.resolved_question || response.question,
    answer: response.answer ?? null,
    verdict,
    ...(span ? { doc_id: span.doc_id, start: span.start, end: span.end } : {}),
  };
  const controls = bar.querySelectorAll("button");
  controls.forEach((b) => { b.disabled = true; });
  try {
    await api("/feedback", { method: "POST", json: body, auth: true });
    setStatus(status, `${done} Ask again to see it used.`, "success");
    bar.dataset.sent = verdict;
  } catch (err) {
    controls.forEach((b) => { b.disabled = false; });
    writeFailed(err, status);
  }
}

/** The document view of a cited passage, set to mark the answer to this question. */
function markingUrl(response, cited) {
  const params = new URLSearchParams({
    start: String(cited.start),
    end: String(cited.end),
    q: response.question,
    rq: response.resolved_question || response.question,
  });
  if (response.answer) params.set("a", response.answer);
  return `/documents/${encodeURIComponent(cited.doc_id)}/view?${params}`;
}

/** "The answer is here": a hint, then "Mark as the answer" for the selected words. */
function marking(response, bar, status) {
  const card = bar.closest(".reply");
  let range = null;
  const remember = () => {
    const selection = document.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return;
    const candidate = selection.getRangeAt(0);
    if (selectedSpan(candidate, card)) range = candidate.cloneRange();
  };
  document.addEventListener("selectionchange", remember);
  const mark = button("Mark as the answer", "btn btn-small btn-primary mark-answer");
  mark.addEventListener("mousedown", (event) => event.preventDefault()); // keep the selection
  mark.addEventListener("click", () => {
    remember();
    const span = range && selectedSpan(range, card);
    if (!span) {
      setStatus(status, "Select the words that answer the question in a passage below first.", "error");
      return;
    }
    send(response, "corrected", span, status, bar, `Saved: “${span.text}” is the answer.`);
  });
  const cited = (response.answers || []).find((x) => x.text === response.answer)?.sources?.[0]
    || response.passages?.[0];
  const inDocument = cited
    ? el("a", {
        class: "source-link in-document",
        text: "or select it in the document",
        attrs: { href: markingUrl(response, cited) },
      })
    : null;
  bar.querySelector(".answer-here").replaceWith(mark, inDocument || "");
  setStatus(status, "Select the words that answer the question in a passage below, then press “Mark as the answer”.");
}

/** The feedback controls of a reply (an answer, or an abstention). */
export function feedbackBar(response) {
  const answered = response.answer !== null && response.answer !== undefined;
  const status = el("p", { class: "form-status feedback-status", attrs: { role: "status" } });
  const bar = el("div", { class: "feedback-actions" });
  const group = el(
    "div",
    { class: "feedback", attrs: { role: "group", "aria-label": "Feedback on this reply" } },
    el("span", { class: "feedback-label", text: answered ? "Is this right?" : "Is the answer in the documents?" }),
    bar,
    status,
  );
  if (answered) {
    const right = button("Right");
    const span = answerSpan(response);
    right.disabled = !span;
    right.addEventListener("click", () =>
      send(response, "right", span, status, bar, "Thanks: the answer is confirmed."),
    );
    const wrong = button("Wrong");
    wrong.addEventListener("click", () =>
      send(response, "wrong", span, status, bar, "Thanks: this answer will not be given again."),
    );
    bar.append(right, wrong);
  }
  const here = button("The answer is here…", "btn btn-small answer-here");
  here.addEventListener("click", () => marking(response, bar, status));
  const none = button("Not in the documents");
  none.addEventListener("click", () =>
    send(response, "unanswerable", passageSpan(response), status, bar, "Thanks: noted as not in the documents."),
  );
  bar.append(here, none);
  return group;
}

/** The line a reply decided by a user's feedback carries. */
export function confirmedBadge(response) {
  return response.confirmed
    ? el("span", {
        class: "confirmed",
        text: "✓ Confirmed by a user",
        attrs: { title: "A user's feedback on this question decided this reply" },
      })
    : null;
}
