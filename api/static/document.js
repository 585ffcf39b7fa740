// The document view: GET /documents/{doc_id} shown as text, with the code points
// [start, end) from the query string in a <mark>, scrolled into view.

import {
  ApiError,
  api,
  codePointLength,
  el,
  highlighted,
  prefersReducedMotion,
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
    fail(
      err instanceof ApiError && err.status === 404
        ? "There is no such document; it may have been deleted."
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

main().finally(() => article.setAttribute("aria-busy", "false"));
