// Helpers shared by the chat page and the document view.
// Every string that comes from a document, a question or an answer is put into the
// page as text (textContent / text nodes), never parsed as HTML.

const KEY_STORAGE = "rag.apiKey";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** A readable sentence from an error body's `detail` (a string, or FastAPI's list). */
export function describeDetail(detail, status) {
  if (typeof detail === "string" && detail.trim()) return detail;
  if (Array.isArray(detail) && detail.length) {
    return detail
      .map((item) => {
        if (typeof item === "string") return item;
        const loc = Array.isArray(item?.loc)
          ? item.loc.filter((part) => part !== "body").join(".")
          : "";
        const msg = item?.msg ? String(item.msg) : "invalid value";
        return loc ? `${loc}: ${msg}` : msg;
      })
      .join("; ");
  }
  return status ? `The server answered with status ${status}.` : "Something went wrong.";
}

/** The saved key: this tab's (sessionStorage), else the one this browser remembers. */
export function getApiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) || localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

/** Save the key for this tab, and with `remember` for this browser too ("" forgets it). */
export function setApiKey(key, remember = false) {
  try {
    sessionStorage.removeItem(KEY_STORAGE);
    localStorage.removeItem(KEY_STORAGE);
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    if (key && remember) localStorage.setItem(KEY_STORAGE, key);
  } catch {
    // Storage may be disabled; the key then lasts until the page is reloaded.
  }
}

// What to do when a call is refused for want of a key (key.js asks the user): a function
// of (signal) that resolves once a new key is saved.
let keyWanted = null;

/** Set who gets a key when a call is answered 401 (key.js). */
export function onKeyWanted(handler) {
  keyWanted = handler;
}

/**
 * Call the JSON API. Resolves to the parsed body (null for 204); rejects with an
 * ApiError carrying the status (0 when the server could not be reached). The saved key
 * goes with every call (`auth`, the default): once keys are made with `rag keys`, reads
 * need one too. A call answered 401 with `retry` (the default for GET) waits for the
 * user to give a key (key.js), then is sent again with it; other calls reject.
 */
export async function api(path, options = {}) {
  const retry = options.retry ?? (options.method || "GET") === "GET";
  for (;;) {
    const sent = options.auth === false ? "" : getApiKey();
    try {
      return await call(path, options, sent);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401 || !retry || !keyWanted) throw err;
      // Another call may have got a new key meanwhile: then just send this one again.
      if (!getApiKey() || getApiKey() === sent) await keyWanted(options.signal);
    }
  }
}

async function call(path, { method = "GET", json, form, signal } = {}, key = "") {
  const headers = { Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  if (key) headers.Authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body, signal, credentials: "same-origin" });
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, "Could not reach the server. Check that it is running, then try again.");
  }
  if (response.status === 204) return null;
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, describeDetail(data?.detail, response.status));
  }
  return data;
}

/** What to tell the user of a failed call: a 403 says that the key may not do it. */
export function describeError(err) {
  if (!(err instanceof ApiError)) return `Something went wrong: ${err?.message || err}`;
  if (err.status === 403 && getApiKey()) return `This API key may not do that: ${err.message}`;
  return err.message;
}

/** Create an element: `el("p", { class: "x", text: "hi", attrs: {...} }, child, ...)`. */
export function el(tag, options = {}, ...children) {
  const node = document.createElement(tag);
  if (options.class) node.className = options.class;
  if (options.text !== undefined && options.text !== null) node.textContent = String(options.text);
  for (const [name, value] of Object.entries(options.attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child); // strings become text nodes
  }
  return node;
}

/**
 * Offsets from the API count Unicode code points (Python); JavaScript strings count
 * UTF-16 units. Convert a code-point offset into `text` to a UTF-16 index.
 */
export function utf16Index(text, codePoints) {
  if (!/[\uD800-\uDFFF]/.test(text)) return Math.min(codePoints, text.length);
  let index = 0;
  let seen = 0;
  while (index < text.length && seen < codePoints) {
    const unit = text.charCodeAt(index);
    index += unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length ? 2 : 1;
    seen += 1;
  }
  return index;
}

/** The number of code points in `text` (what Python's len() says). */
export function codePointLength(text) {
  if (!/[\uD800-\uDFFF]/.test(text)) return text.length;
  return Array.from(text).length;
}

/**
 * A fragment holding `text` with code points [start, end) wrapped in a <mark>:
 * text node, <mark> element, text node. Returns { fragment, mark } (mark is null when
 * the offsets do not describe a non-empty span inside the text).
 */
export function highlighted(text, start, end, markOptions = {}) {
  const fragment = document.createDocumentFragment();
  const length = codePointLength(text);
  const valid =
    Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end > start && end <= length;
  if (!valid) {
    fragment.append(document.createTextNode(text));
    return { fragment, mark: null };
  }
  const a = utf16Index(text, start);
  const b = utf16Index(text, end);
  const mark = el("mark", markOptions);
  mark.append(document.createTextNode(text.slice(a, b)));
  fragment.append(document.createTextNode(text.slice(0, a)), mark, document.createTextNode(text.slice(b)));
  return { fragment, mark };
}

/** "1 document", "3,200 documents". */
export function plural(n, one, many = `${one}s`) {
  return `${n.toLocaleString("en")} ${n === 1 ? one : many}`;
}

/** Show `message` in a status line; `kind` (info, success, error) styles it. */
export function setStatus(node, message, kind = "info") {
  node.textContent = message;
  node.dataset.kind = kind;
}

export function percent(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return "–";
  return `${Math.round(Math.max(0, Math.min(1, n)) * 100)}%`;
}

/** The URL of the document view with code points [start, end) highlighted. */
export function viewUrl(docId, start, end) {
  const url = `/documents/${encodeURIComponent(docId)}/view`;
  if (Number.isInteger(start) && Number.isInteger(end) && end > start) {
    return `${url}?start=${start}&end=${end}`;
  }
  return url;
}

export function prefersReducedMotion() {
  return window.matchMedia?.("(prefers-reduced-motion: reduce)").matches ?? false;
}
