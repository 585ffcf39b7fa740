// The document view: GET /documents/{doc_id} shown as text, with the code points
// [start, end) from the query string in a <mark>, scrolled into view.

import {
  ApiError,
  api,
  codePointLength,
  el,
  highlighted,
  prefersReducedMotion,
  setStatus,
} from "./common.js";

const $ = (id) => document.getElementById(id);
const article = document.querySelector(".doc-card");
const heading = $("doc-heading");
const meta = $("doc-meta");
const note = $("doc-note");
const noteText = $("doc-note-text");
const jump = $("jump");
const errorBox = $("doc-error");
const textBox = $("doc-text");

function docIdFromPath() {
  // /documents/<doc_id>/view
  const parts = window.location.pathname.split("/");
  const index = parts.indexOf("documents");
  if (index < 0 || index + 2 >= parts.length) return null;
  try {
    return decodeURIComponent(parts[index + 1]);
  } catch {
    return null;
  }
}

function offset(params, name) {
  const raw = params.get(name);
  if (raw === null || !/^\d{1,9}$/.test(raw)) return null;
  return Number(raw);
}

function showMark(mark, smooth) {
  mark.scrollIntoView({
    block: "center",
    behavior: smooth && !prefersReducedMotion() ? "smooth" : "auto",
  });
  mark.focus({ preventScroll: true });
}

function fail(message) {
  heading.textContent = "Document not available";
  document.title = "Document not available · rag";
  errorBox.textContent = message;
  errorBox.hidden = false;
}

async function main() {
  const docId = docIdFromPath();
  if (!docId) {
    fail("This address does not name a document.");
    return;
  }
  let doc;
  try {
    doc = await api(`/documents/${encodeURIComponent(docId)}`);
  } catch (err) {
    const status = err instanceof ApiError ? err.status : 0;
    fail(
      status === 404
        ? "There is no such document; it may have been deleted."
        : status === 401
          ? "This server needs an API key: enter it on the chat page, then open the document again."
          : `Couldn’t load the document: ${err.message || err}`,
    );
    return;
  }
  const text = typeof doc?.text === "string" ? doc.text : "";
  const title = doc?.title || "Untitled document";
  heading.textContent = title;
  document.title = `${title} · rag`;
  const length = codePointLength(text);
  const info = doc?.metadata || {};
  meta.replaceChildren();
  const parts = [
    info.author ? `by ${info.author}` : null,
    info.date || null,
    info.site || null,
    info.pages ? `${info.pages} PDF pages` : null,
    doc?.source,
    `${length.toLocaleString("en")} characters`,
  ].filter(Boolean);
  meta.append(parts.join(" · "));
  if (typeof info.url === "string" && /^https?:\/\//i.test(info.url)) {
    meta.append(" · ");
    meta.append(el("a", { text: info.url, attrs: { href: info.url, rel: "noopener noreferrer" } }));
  }

  const params = new URLSearchParams(window.location.search);
  const start = offset(params, "start");
  const end = offset(params, "end");
  const { fragment, mark } = highlighted(text, start, end, {
    attrs: { id: "highlight", tabindex: "-1" },
  });
  textBox.replaceChildren(fragment);
  markingPanel(params, docId, text);
  if (mark) {
    noteText.textContent = "The cited span is highlighted.";
    note.hidden = false;
    jump.addEventListener("click", () => showMark(mark, true));
    showMark(mark, false);
  } else if (start !== null || end !== null) {
    noteText.textContent = "The requested span is not inside this document; showing all of it.";
    note.hidden = false;
    jump.hidden = true;
  }
}

/**
 * With ?q=… (from "The answer is here…" on the chat page): the reader selects the words
 * that answer the question in the text and marks them; POST /feedback stores the span
 * (code points, as the API counts them) and the next /ask of the question uses it.
 */
function markingPanel(params, docId, text) {
  const question = params.get("q");
  if (!question) return;
  const status = el("p", { class: "form-status", attrs: { role: "status" } });
  const mark = el("button", {
    class: "btn btn-small btn-primary",
    text: "Mark as the answer",
    attrs: { type: "button" },
  });
  mark.addEventListener("mousedown", (event) => event.preventDefault()); // keep the selection
  mark.addEventListener("click", async () => {
    const selection = document.getSelection();
    const range = selection?.rangeCount ? selection.getRangeAt(0) : null;
    if (!range || range.collapsed || !textBox.contains(range.startContainer)
        || !textBox.contains(range.endContainer)) {
      setStatus(status, "Select the words that answer the question in the text first.", "error");
      return;
    }
    const before = document.createRange();
    before.setStart(textBox, 0);
    before.setEnd(range.startContainer, range.startOffset);
    let a = before.toString().length;
    let b = a + range.toString().length;
    while (a < b && /\s/.test(text[a])) a += 1;
    while (b > a && /\s/.test(text[b - 1])) b -= 1;
    const start = codePointLength(text.slice(0, a));
    const body = {
      question,
      resolved_question: params.get("rq") || question,
      answer: params.get("a"),
      verdict: "corrected",
      doc_id: docId,
      start,
      end: start + codePointLength(text.slice(a, b)),
    };
    try {
      await api("/feedback", { method: "POST", json: body, auth: true });
      setStatus(status, `Saved: “${text.slice(a, b)}” is the answer. Ask again to see it used.`, "success");
    } catch (err) {
      const keyNeeded = err instanceof ApiError && err.status === 401;
      const message = keyNeeded
        ? "The server needs the API key: save it on the chat page, then try again."
        : err.message;
      setStatus(status, message, "error");
    }
  });
  const panel = el(
    "div",
    { class: "doc-note feedback-panel" },
    el("span", { text: `Select the words that answer “${question}”, then ` }),
    mark,
    status,
  );
  textBox.before(panel);
}

main().finally(() => article.setAttribute("aria-busy", "false"));
