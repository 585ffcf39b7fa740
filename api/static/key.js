// The API key for writes, when the server asks for one (/health says so): a form to
// enter it, kept in sessionStorage for this tab, asked for again when it is refused.

import { ApiError, getApiKey, setApiKey, setStatus } from "./common.js";

const $ = (id) => document.getElementById(id);
const ui = {
  keyForm: $("key-form"),
  keyInput: $("api-key"),
  keyStatus: $("key-status"),
  keySaved: $("key-saved"),
  forgetKey: $("forget-key"),
};

let keyRequired = false;

/** What /health said: whether writes need a key. */
export function setKeyRequired(required) {
  keyRequired = required;
}

/** The key form while a key is needed and none is saved; the "saved" line once one is. */
export function updateKeyUi() {
  const required = keyRequired;
  const saved = Boolean(getApiKey());
  ui.keyForm.hidden = !required || saved;
  ui.keySaved.hidden = !required || !saved;
}

function askForKey(message) {
  keyRequired = true;
  setApiKey("");
  updateKeyUi();
  setStatus(ui.keyStatus, message, "error");
  ui.keyInput.focus();
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
  const message = err instanceof ApiError ? err.message : String(err?.message || err);
  setStatus(statusNode, message, "error");
}

/** Saving and forgetting the key. */
export function initKey() {
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
}
