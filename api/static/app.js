// The chat page: a conversation with the /ask API and a small documents panel.
// Strings from the API are inserted as text only (see common.js), never as HTML.

import {
  ApiError,
  api,
  codePointLength,
  el,
  getApiKey,
  percent,
  prefersReducedMotion,
  setApiKey,
  utf16Index,
  viewUrl,
} from "./common.js";

const CONVERSATION_STORAGE = "rag.conversation";
const EXCERPT_RADIUS = 200; // characters of context either side of an answer

const $ = (id) => document.getElementById(id);
const ui = {
  turns: $("turns"),
  empty: $("empty-state"),
  askForm: $("ask-form"),
  question: $("question"),
  send: $("send"),
  newConversation: $("new-conversation"),
  serviceStatus: $("service-status"),
  docList: $("doc-list"),
  docCount: $("doc-count"),
  docListStatus: $("doc-list-status"),
  keyForm: $("key-form"),
  keyInput: $("api-key"),
  keyStatus: $("key-status"),
  keySaved: $("key-saved"),
  forgetKey: $("forget-key"),
  addForm: $("add-form"),
  docTitle: $("doc-title"),
  docFile: $("doc-file"),
  docText: $("doc-text"),
  addSubmit: $("add-submit"),
  addStatus: $("add-status"),
  dropZone: $("drop-zone"),
  uploads: $("upload-progress"),
};

const state = {
  turns: [], // { id, question, status: "loading" | "done" | "error", response?, error? }
  nextId: 1,
  busy: false,
  controller: null,
  keyRequired: false,
};

/* ------------------------------------------------------------------ rendering */

function plural(n, one, many = `${one}s`) {
  return `${n.toLocaleString("en")} ${n === 1 ? one : many}`;
}

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
 * Fill `node` with the passage `text`, the answer (code points [rel0, rel1) of the
 * passage) in a <mark>. Unless `full`, only a window around the answer is shown.
 * Returns whether some of the passage was left out.
 */
function renderPassage(node, text, rel, full) {
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
  return from > 0 || to < text.length;
}

function sourceItem(citation) {
  const title = citation.title || "Untitled document";
  const hasAnswer = Number.isInteger(citation.answer_start) && Number.isInteger(citation.answer_end);
  const rel = hasAnswer
    ? [citation.answer_start - citation.start, citation.answer_end - citation.start]
    : null;
  const passage = el("blockquote", { class: "passage" });
  const truncated = renderPassage(passage, citation.text || "", rel, false);

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
      renderPassage(passage, citation.text || "", rel, !expanded);
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

function answerCard(response) {
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
      confidenceBadge(response.confidence),
    ),
    el("p", { class: "answer-text", text: response.answer }),
    confidenceMeter(response.confidence),
    el("h3", { class: "section-title", text: `Sources (${sources.length})` }),
    sourceList(sources),
    others.length
      ? alternatives(others, `Other possible answers (${others.length})`)
      : null,
    timing(response),
  );
}

function abstainCard(response) {
  const passages = response.passages || [];
  const guesses = response.answers || [];
  return el(
    "div",
    { class: "reply card reply-abstain" },
    el(
      "div",
      { class: "reply-head" },
      el("span", { class: "reply-label", text: "No answer" }),
    ),
    el("p", { class: "abstain-text", text: "The documents do not answer this question." }),
    el("p", {
      class: "hint",
      text: passages.length
        ? "Nothing in them answers it with enough confidence. These are the closest passages:"
        : "No passage came close to it.",
    }),
    passages.length ? el("h3", { class: "section-title", text: `Closest passages (${passages.length})` }) : null,
    passages.length ? sourceList(passages) : null,
    guesses.length ? alternatives(guesses, `Low-confidence guesses (${guesses.length})`) : null,
    timing(response),
  );
}

function loadingCard() {
  return el(
    "div",
    { class: "reply card reply-loading", attrs: { role: "status", "aria-busy": "true" } },
    el("span", { class: "spinner", attrs: { "aria-hidden": "true" } }),
    el("span", { text: "Searching the documents…" }),
  );
}

function errorCard(turn) {
  const retry = el("button", { class: "btn btn-small", text: "Try again", attrs: { type: "button" } });
  retry.addEventListener("click", () => ask(turn.question, turn));
  return el(
    "div",
    { class: "reply card reply-error", attrs: { role: "alert" } },
    el("p", { class: "error-title", text: "Couldn’t get an answer" }),
    el("p", { class: "error-text", text: turn.error }),
    retry,
  );
}

function replyFor(turn) {
  if (turn.status === "loading") return loadingCard();
  if (turn.status === "error") return errorCard(turn);
  const response = turn.response || {};
  return response.answer === null || response.answer === undefined
    ? abstainCard(response)
    : answerCard(response);
}

function turnNode(turn) {
  return el(
    "li",
    { class: "turn", attrs: { "data-turn": turn.id } },
    el(
      "div",
      { class: "question-bubble" },
      el("span", { class: "visually-hidden", text: "You asked: " }),
      el("p", { class: "question-text", text: turn.question }),
    ),
    replyFor(turn),
  );
}

function updateTurn(turn) {
  const node = ui.turns.querySelector(`[data-turn="${turn.id}"]`);
  if (!node) return null;
  node.querySelector(".reply").replaceWith(replyFor(turn));
  return node;
}

function updateEmptyState() {
  ui.empty.hidden = state.turns.length > 0;
}

function scrollToTurn(node) {
  node?.scrollIntoView({ block: "start", behavior: prefersReducedMotion() ? "auto" : "smooth" });
}

/* --------------------------------------------------------------- conversation */

function saveConversation() {
  const kept = state.turns
    .filter((t) => t.status !== "loading")
    .map(({ question, status, response, error }) => ({ question, status, response, error }));
  try {
    if (kept.length) sessionStorage.setItem(CONVERSATION_STORAGE, JSON.stringify(kept));
    else sessionStorage.removeItem(CONVERSATION_STORAGE);
  } catch {
    // Storage full or disabled: the conversation is simply not kept across pages.
  }
}

function restoreConversation() {
  let saved = [];
  try {
    saved = JSON.parse(sessionStorage.getItem(CONVERSATION_STORAGE) || "[]");
  } catch {
    saved = [];
  }
  if (!Array.isArray(saved)) return;
  for (const item of saved) {
    if (!item || typeof item.question !== "string") continue;
    if (item.status !== "done" && item.status !== "error") continue;
    const turn = { ...item, id: state.nextId++ };
    state.turns.push(turn);
    ui.turns.append(turnNode(turn));
  }
  updateEmptyState();
}

function setBusy(busy) {
  state.busy = busy;
  ui.send.disabled = busy;
  ui.askForm.setAttribute("aria-busy", String(busy));
}

async function ask(question, existing) {
  if (state.busy) return;
  let turn = existing;
  if (turn) {
    turn.status = "loading";
    delete turn.error;
    updateTurn(turn);
  } else {
    turn = { id: state.nextId++, question, status: "loading" };
    state.turns.push(turn);
    ui.turns.append(turnNode(turn));
    updateEmptyState();
  }
  scrollToTurn(ui.turns.querySelector(`[data-turn="${turn.id}"]`));
  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  try {
    turn.response = await api("/ask", {
      method: "POST",
      json: { question },
      signal: controller.signal,
    });
    turn.status = "done";
  } catch (err) {
    if (err?.name === "AbortError") return; // the conversation was cleared
    turn.status = "error";
    turn.error =
      err instanceof ApiError ? err.message : `Something went wrong: ${err?.message || err}`;
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      setBusy(false);
    }
  }
  if (!state.turns.includes(turn)) return;
  updateTurn(turn);
  saveConversation();
}

function newConversation() {
  state.controller?.abort();
  state.controller = null;
  setBusy(false);
  state.turns = [];
  ui.turns.replaceChildren();
  saveConversation();
  updateEmptyState();
  ui.question.value = "";
  ui.question.focus();
}

ui.askForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const question = ui.question.value.trim();
  if (!question || state.busy) return;
  ui.question.value = "";
  ask(question);
});

ui.question.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.askForm.requestSubmit();
  }
});

ui.newConversation.addEventListener("click", newConversation);

/* ------------------------------------------------------------------ documents */

function setStatus(node, message, kind = "info") {
  node.textContent = message;
  node.dataset.kind = kind;
}

function updateKeyUi() {
  const required = state.keyRequired;
  const saved = Boolean(getApiKey());
  ui.keyForm.hidden = !required || saved;
  ui.keySaved.hidden = !required || !saved;
}

function askForKey(message) {
  state.keyRequired = true;
  setApiKey("");
  updateKeyUi();
  setStatus(ui.keyStatus, message, "error");
  ui.keyInput.focus();
}

/** Whether a write may be sent now; asks for the key when one is needed. */
function ensureKey() {
  if (!state.keyRequired || getApiKey()) return true;
  updateKeyUi();
  setStatus(ui.keyStatus, "Enter the API key first, then try again.", "error");
  ui.keyInput.focus();
  return false;
}

function writeFailed(err, statusNode) {
  if (err instanceof ApiError && err.status === 401) {
    askForKey("The server did not accept the API key. Enter it again, then retry.");
    setStatus(statusNode, "Not saved: the API key was refused.", "error");
    return;
  }
  const message = err instanceof ApiError ? err.message : String(err?.message || err);
  setStatus(statusNode, message, "error");
}

ui.keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const key = ui.keyInput.value.trim();
  if (!key) {
    setStatus(ui.keyStatus, "Type the key first.", "error");
    ui.keyInput.focus();
    return;
  }
  setApiKey(key);
  ui.keyInput.value = "";
  setStatus(ui.keyStatus, "");
  updateKeyUi();
  ui.forgetKey.focus();
});

ui.forgetKey.addEventListener("click", () => {
  setApiKey("");
  updateKeyUi();
  setStatus(ui.keyStatus, "Key forgotten.");
  ui.keyInput.focus();
});

function confirmDelete(item, doc, actions) {
  const title = doc.title || "Untitled document";
  const yes = el("button", {
    class: "btn btn-small btn-danger",
    text: "Delete",
    attrs: { type: "button", "aria-label": `Yes, delete “${title}”` },
  });
  const no = el("button", { class: "btn btn-small", text: "Cancel", attrs: { type: "button" } });
  const status = el("p", { class: "form-status", attrs: { role: "status" } });
  const box = el(
    "div",
    { class: "confirm", attrs: { role: "group", "aria-label": `Delete “${title}”?` } },
    el("span", { class: "confirm-text", text: "Delete this document?" }),
    el("div", { class: "confirm-buttons" }, yes, no),
    status,
  );
  const cancel = () => {
    box.replaceWith(actions);
    actions.querySelector(".btn-delete")?.focus();
  };
  no.addEventListener("click", cancel);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancel();
  });
  yes.addEventListener("click", async () => {
    if (!ensureKey()) return;
    yes.disabled = true;
    no.disabled = true;
    setStatus(status, "Deleting…");
    try {
      await api(`/documents/${encodeURIComponent(doc.doc_id)}`, { method: "DELETE", auth: true });
      setStatus(ui.docListStatus, `Deleted “${title}”.`);
      item.remove();
      await Promise.all([refreshDocuments(), refreshHealth()]);
      ui.question.focus();
    } catch (err) {
      yes.disabled = false;
      no.disabled = false;
      writeFailed(err, status);
    }
  });
  actions.replaceWith(box);
  no.focus();
}

function documentItem(doc) {
  const title = doc.title || "Untitled document";
  const item = el("li", { class: "doc-item" });
  const remove = el("button", {
    class: "btn btn-small btn-ghost btn-delete",
    text: "Delete",
    attrs: { type: "button", "aria-label": `Delete “${title}”` },
  });
  const actions = el("div", { class: "doc-actions" }, remove);
  remove.addEventListener("click", () => confirmDelete(item, doc, actions));
  const characters = Number(doc.characters) || 0;
  const chunks = Number(doc.chunks) || 0;
  item.append(
    el(
      "div",
      { class: "doc-info" },
      el("a", { class: "doc-title", text: title, attrs: { href: viewUrl(doc.doc_id) } }),
      el("p", {
        class: "doc-meta",
        text: `${plural(characters, "character")} · ${plural(chunks, "passage")}`,
      }),
    ),
    actions,
  );
  return item;
}

async function refreshDocuments() {
  try {
    const data = await api("/documents");
    const docs = data?.documents || [];
    ui.docList.replaceChildren(...docs.map(documentItem));
    ui.docCount.textContent = String(docs.length);
    ui.docCount.setAttribute("aria-label", plural(docs.length, "document"));
    if (!docs.length) setStatus(ui.docListStatus, "No documents yet. Add one below.");
    else if (ui.docListStatus.dataset.kind === "error") setStatus(ui.docListStatus, "");
  } catch (err) {
    setStatus(ui.docListStatus, `Couldn’t load the documents: ${err.message || err}`, "error");
  }
}

async function refreshHealth() {
  try {
    const health = await api("/health");
    state.keyRequired = Boolean(health?.api_key_required);
    ui.serviceStatus.textContent = `${plural(Number(health?.documents) || 0, "document")} · ${plural(
      Number(health?.chunks) || 0,
      "passage",
    )}`;
    ui.serviceStatus.dataset.state = "ok";
  } catch (err) {
    ui.serviceStatus.textContent = "Service unavailable";
    ui.serviceStatus.title = err.message || String(err);
    ui.serviceStatus.dataset.state = "down";
  }
  updateKeyUi();
}

const SUPPORTED = /\.(txt|md|html?|pdf)$/i;

/** One line per file: its name, then what became of it. */
function progressLine(name) {
  const status = el("span", { class: "upload-state", text: "waiting…" });
  const line = el("li", { class: "upload", attrs: { "data-state": "waiting" } },
    el("span", { class: "upload-name", text: name }), status);
  ui.uploads.append(line);
  return (text, kind) => {
    status.textContent = text;
    line.dataset.state = kind;
  };
}

function addedMessage(doc) {
  const name = doc?.title || "the document";
  return doc?.created === false
    ? `“${name}” was already indexed.`
    : `Added “${name}”. You can ask about it now.`;
}

async function uploadFiles(files, title) {
  ui.uploads.replaceChildren();
  let added = 0;
  let failed = 0;
  let last = null;
  for (const file of files) {
    const show = progressLine(file.name);
    if (!SUPPORTED.test(file.name)) {
      show("not added: only .txt, .md, .html and .pdf files", "error");
      failed += 1;
      continue;
    }
    show("uploading…", "busy");
    const form = new FormData();
    form.append("files", file, file.name);
    if (title && files.length === 1) form.append("title", title);
    try {
      const reply = await api("/documents/files", { method: "POST", form, auth: true });
      const doc = reply?.documents?.[0];
      last = doc;
      show(doc?.created === false ? `already indexed as “${doc.title}”` : `added as “${doc?.title}”`,
        "success");
      added += 1;
    } catch (err) {
      failed += 1;
      if (err instanceof ApiError && err.status === 401) {
        writeFailed(err, ui.addStatus);
        show("not added: the API key was refused", "error");
        break;
      }
      show(`not added: ${err instanceof ApiError ? err.message : err?.message || err}`, "error");
    }
  }
  return { added, failed, last };
}

ui.addForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const files = [...(ui.docFile.files || [])];
  const text = ui.docText.value;
  const title = ui.docTitle.value.trim();
  if (!files.length && !text.trim()) {
    setStatus(ui.addStatus, "Choose or drop files, or paste some text, first.", "error");
    ui.docFile.focus();
    return;
  }
  if (!ensureKey()) return;
  ui.addSubmit.disabled = true;
  ui.addForm.setAttribute("aria-busy", "true");
  try {
    if (files.length) {
      setStatus(ui.addStatus, `Adding ${plural(files.length, "file")}…`);
      const { added, failed, last } = await uploadFiles(files, title);
      if (files.length === 1 && added) {
        setStatus(ui.addStatus, addedMessage(last), "success");
      } else if (ui.addStatus.dataset.kind !== "error" || !failed) {
        const unused = files.length > 1 && title ? " The title was not used: it names one file." : "";
        const summary = `${plural(added, "file")} added${failed ? `, ${failed} not` : ""}.`;
        setStatus(ui.addStatus, summary + unused, failed ? "error" : "success");
      }
    } else {
      setStatus(ui.addStatus, "Adding the text…");
      const reply = await api("/documents", {
        method: "POST",
        json: title ? { title, text } : { text },
        auth: true,
      });
      setStatus(ui.addStatus, addedMessage(reply), "success");
    }
    ui.addForm.reset();
    await Promise.all([refreshDocuments(), refreshHealth()]);
  } catch (err) {
    writeFailed(err, ui.addStatus);
  } finally {
    ui.addSubmit.disabled = false;
    ui.addForm.removeAttribute("aria-busy");
  }
});

for (const name of ["dragenter", "dragover"]) {
  ui.dropZone.addEventListener(name, (event) => {
    event.preventDefault();
    ui.dropZone.dataset.over = "true";
  });
}
for (const name of ["dragleave", "drop"]) {
  ui.dropZone.addEventListener(name, () => delete ui.dropZone.dataset.over);
}
ui.dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  if (event.dataTransfer?.files?.length) ui.docFile.files = event.dataTransfer.files;
});

/* ----------------------------------------------------------------------- start */

restoreConversation();
refreshHealth();
refreshDocuments();
