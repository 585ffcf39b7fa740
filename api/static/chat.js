// The conversation: asking /ask with the turns before (so that "Who invited him?"
// follows on), in the chosen collection and filter (scope.js), a turn per question with
// its reply, where it was asked and how it was understood, kept in sessionStorage for
// the tab. Strings from the API are inserted as text only.

import { ApiError, api, describeError, el, prefersReducedMotion } from "./common.js";
import { abstainCard, answerCard, loadingCard } from "./answers.js";
import { refreshCollections } from "./collections.js";
import { askBody, describeScope, isNarrowed } from "./scope.js";

const CONVERSATION_STORAGE = "rag.conversation";
const HISTORY_TURNS = 10; // what /ask reads of a conversation

const $ = (id) => document.getElementById(id);
const ui = {
  turns: $("turns"),
  empty: $("empty-state"),
  askForm: $("ask-form"),
  question: $("question"),
  send: $("send"),
  newConversation: $("new-conversation"),
};

const state = {
  // { id, question, status: "loading" | "done" | "error", scope?, response?, error? }
  turns: [],
  nextId: 1,
  busy: false,
  controller: null,
};

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

/** "Understood as …": how a follow-up was read, so that a wrong guess is visible. */
function understoodNote(turn) {
  const resolved = turn.response?.resolved_question;
  const note = el("p", { class: "understood" });
  if (turn.status === "done" && resolved && resolved !== turn.response.question) {
    note.textContent = `Understood as “${resolved}”`;
  } else {
    note.hidden = true;
  }
  return note;
}

/** "Asked in legal, year ≥ 2020": where the question was asked, when not everywhere. */
function scopeNote(turn) {
  return turn.scope ? el("p", { class: "turn-scope", text: `Asked ${turn.scope}` }) : null;
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
    understoodNote(turn),
    scopeNote(turn),
    replyFor(turn),
  );
}

function updateTurn(turn) {
  const node = ui.turns.querySelector(`[data-turn="${turn.id}"]`);
  if (!node) return null;
  node.querySelector(".understood").replaceWith(understoodNote(turn));
  node.querySelector(".reply").replaceWith(replyFor(turn));
  return node;
}

/** The turns answered before ``turn``, as /ask takes them (the last ten). */
function historyBefore(turn) {
  const index = state.turns.indexOf(turn);
  return state.turns
    .slice(0, index < 0 ? state.turns.length : index)
    .filter((t) => t.status === "done" && t.response)
    .slice(-HISTORY_TURNS)
    .map((t) => ({ question: t.question, answer: t.response.answer ?? null }));
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
    .map(({ question, status, scope, body, response, error }) => ({
      question, status, scope, body, response, error,
    }));
  try {
    if (kept.length) sessionStorage.setItem(CONVERSATION_STORAGE, JSON.stringify(kept));
    else sessionStorage.removeItem(CONVERSATION_STORAGE);
  } catch {
    // Storage full or disabled: the conversation is simply not kept across pages.
  }
}

export function restoreConversation() {
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
    const scope = isNarrowed() ? describeScope() : undefined;
    turn = { id: state.nextId++, question, status: "loading", scope, body: askBody() };
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
      json: { question, history: historyBefore(turn), ...(turn.body || askBody()) },
      signal: controller.signal,
      retry: true, // a question waits for the key, as reads do
    });
    turn.status = "done";
  } catch (err) {
    if (err?.name === "AbortError") return; // the conversation was cleared
    turn.status = "error";
    turn.error = describeError(err);
    if (err instanceof ApiError && err.status === 404) refreshCollections(); // gone: fall back
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

export function focusQuestion() {
  ui.question.focus();
}

/** Asking: Enter sends, Shift+Enter is a new line; the button clears the conversation. */
export function initChat() {
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
}
