// The API key, when the server asks for one: for writes (/health says so), and for
// every call once keys are made with `rag keys` (a call answered 401 waits here for the
// key, then is sent again: common.js). Kept in sessionStorage for this tab, and in
// localStorage too when the user ticks "Remember on this browser"; asked for again
// when it is refused.

import { ApiError, describeError, getApiKey, onKeyWanted, setApiKey, setStatus } from "./common.js";

const $ = (id) => document.getElementById(id);
const ui = {
  keyForm: $("key-form"),
  keyInput: $("api-key"),
  remember: $("remember-key"),
  keyStatus: $("key-status"),
  keySaved: $("key-saved"),
  forgetKey: $("forget-key"),
};

let keyRequired = false;
// The calls waiting for a key: one prompt for them all, released when a key is saved.
let waiting = null;
let release = null;

/** What /health said: whether writes need a key. */
export function setKeyRequired(required) {
  keyRequired = required || keyRequired;
}

/** The key form while a key is needed and none is saved; the "saved" line once one is. */
export function updateKeyUi() {
  const saved = Boolean(getApiKey()) && !waiting;
  ui.keyForm.hidden = !keyRequired || saved;
  ui.keySaved.hidden = !keyRequired || !saved;
}

function askForKey(message) {
  keyRequired = true;
  setApiKey("");
  updateKeyUi();
  setStatus(ui.keyStatus, message, "error");
  ui.keyInput.focus();
}

/** Resolves once the user has saved a key; asks for it (once for every waiting call). */
function keyWanted(signal) {
  if (!waiting) {
    waiting = new Promise((resolve) => {
      release = resolve;
    });
    askForKey(
      getApiKey()
        ? "The server did not accept the API key. Enter it again to go on."
        : "This server needs an API key. Enter it to go on.",
    );
  }
  if (!signal) return waiting;
  return new Promise((resolve, reject) => {
    const stop = () => reject(new DOMException("The call was cancelled.", "AbortError"));
    if (signal.aborted) stop();
    signal.addEventListener("abort", stop, { once: true });
    waiting.then(resolve);
  });
}

/** Whether a write may be sent now; asks for the key when one is needed. */
export function ensureKey() {
  if (!keyRequired || getApiKey()) return true;
  updateKeyUi();
  setStatus(ui.keyStatus, "Enter the API key first, then try again.", "error");
  ui.keyInput.focus();
  return false;
}

/** Say in `statusNode` why a write failed; a refused key (401) is asked for again. */
export function writeFailed(err, statusNode) {
  if (err instanceof ApiError && err.status === 401) {
    askForKey("The server did not accept the API key. Enter it again, then retry.");
    setStatus(statusNode, "Not saved: the API key was refused.", "error");
    return;
  }
  setStatus(statusNode, describeError(err), "error");
}

function saveKey(event) {
  event.preventDefault();
  const key = ui.keyInput.value.trim();
  if (!key) {
    setStatus(ui.keyStatus, "Type the key first.", "error");
    ui.keyInput.focus();
    return;
  }
  setApiKey(key, ui.remember.checked);
  ui.keyInput.value = "";
  setStatus(ui.keyStatus, "");
  const waited = release;
  waiting = null;
  release = null;
  updateKeyUi();
  ui.forgetKey.focus();
  waited?.(); // the calls that waited for it are sent again
}

/** Saving and forgetting the key; calls refused for want of one wait for it here. */
export function initKey() {
  onKeyWanted(keyWanted);
  ui.keyForm.addEventListener("submit", saveKey);
  ui.forgetKey.addEventListener("click", () => {
    setApiKey("");
    updateKeyUi();
    setStatus(ui.keyStatus, "Key forgotten.");
    ui.keyInput.focus();
  });
}
