// Following a job (issue 38, item 4): a long upload is answered at once with a job
// (202), which runs on the server while this polls GET /jobs/{id} and shows a progress
// bar of passages embedded, and the time left, in the upload's line until it ends.

import { api, el, plural } from "./common.js";

const POLL_MS = 1000;
const FINISHED = new Set(["done", "failed", "cancelled"]);
/** Polls without an answer before the page gives up following: ten minutes. */
const MAX_MISSES = 600;

/** Whether a failed poll means the server is away for now (not that it said no). */
const unreachable = (err) => err?.status === 0 || [502, 503, 504].includes(err?.status);

/** Whether an upload's reply is a job rather than the stored documents. */
export const isJob = (reply) => Boolean(reply?.id && reply?.state && reply?.kind);

function timeLeft(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return ` · about ${Math.max(1, Math.round(seconds))} s left`;
  return ` · about ${Math.round(seconds / 60)} min left`;
}

/** What the bar and its words say of a job under way. */
function render(job, bar, words) {
  if (job.state === "queued") {
    bar.removeAttribute("value");
    words.textContent = "waiting for the uploads before it…";
  } else if (job.passages_total === null) {
    bar.removeAttribute("value");
    words.textContent = "reading and splitting…";
  } else {
    bar.max = Math.max(job.passages_total, 1);
    bar.value = job.passages_done;
    const of = `${job.passages_done.toLocaleString("en")} of ${plural(job.passages_total, "passage")}`;
    const storing = job.passages_done >= job.passages_total ? " · storing" : "";
    words.textContent = `${of} embedded${storing || timeLeft(job.eta_seconds)}`;
  }
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Show `job`'s progress in `line` (an upload's list item) until it ends; the finished
 * job is returned (done, failed or cancelled). A failed poll is tried again.
 */
export async function followJob(job, line) {
  const bar = el("progress", { class: "upload-bar", attrs: { "aria-label": "Progress" } });
  const words = el("span", { class: "upload-job" });
  line.append(bar, words);
  line.dataset.job = job.id;
  let misses = 0;
  while (!FINISHED.has(job.state)) {
    if (misses === 0) render(job, bar, words);
    await pause(POLL_MS);
    try {
      job = await api(`/jobs/${encodeURIComponent(job.id)}`);
      misses = 0;
    } catch (err) {
      // A server restarting (unreachable, or 502–504 from a proxy) takes a while on a
      // busy machine, and the job goes on after it: keep following, saying so, for up
      // to MAX_MISSES polls. A 4xx (the job unknown, the key refused) ends it at once.
      if (!unreachable(err) || ++misses >= MAX_MISSES) throw err;
      words.textContent = "the server is not answering (restarting?): still following…";
    }
  }
  if (job.state === "done") {
    bar.max = Math.max(job.passages_total || 1, 1);
    bar.value = bar.max;
    words.textContent = `${plural(job.passages_total || 0, "passage")} embedded`;
  } else {
    words.remove();
    bar.remove();
  }
  return job;
}
