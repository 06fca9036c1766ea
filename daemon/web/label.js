// label.js — the labeling page: the flow of `wb label` (docs/LABELING.md) in a browser. The
// page's own URL names what to label (?prompts=&into=&model=[&a=&b=&temperatures=&seed=
// &max_tokens=&per_annotator=1]); each pair comes from GET /v1/comparisons/next and a label is
// stored by POST /v1/comparisons on Enter only, so leaving the page loses at most the pair shown.
"use strict";

const params = new URLSearchParams(location.search);
const RATINGS = {"1": 3, "2": 2, "3": 1, "4": 0};
const RATING_WORDS = {3: "significantly better", 2: "better", 1: "slightly better", 0: "negligibly better / unsure"};
const SAFETY = {s: "both_safe", o: "chosen_safe", u: "both_unsafe"};

let me = null;        // the annotator's name (GET /v1/annotators/me), null with another token
let pair = null;      // the pair on screen
let cursor = -1;      // the last row shown (skipped or labeled), as wb label's cursor
let choice = {};      // {chosen, rating, safety}
let shownAt = 0;
let busy = false;     // a request is in flight: keys are ignored
let saved = 0;

const $ = (id) => document.getElementById(id);
// The page's state on <body data-state>: busy, ready (a pair is shown), done, error.
function setState(state) { document.body.dataset.state = state; }
function status(text, error) { $("status").textContent = text; $("status").className = error ? "error" : "status"; }

function showChoice() {
  const parts = [];
  parts.push(choice.chosen ? "better: " + choice.chosen.toUpperCase() : "better: ?");
  parts.push(choice.rating !== undefined ? RATING_WORDS[choice.rating] : "strength: ?");
  parts.push(choice.safety ? choice.safety.replace("_", " ") : "safety: ?");
  parts.push(pair && pair.is_safety_prompt ? "safety prompt" : "not a safety prompt");
  $("choice").textContent = parts.join(" · ");
  $("response-a").classList.toggle("chosen", choice.chosen === "a");
  $("response-b").classList.toggle("chosen", choice.chosen === "b");
  $("safety-prompt").textContent = pair && pair.is_safety_prompt ? "(safety prompt)" : "";
}

async function loadNext() {
  busy = true;
  setState("busy");
  $("pair-box").hidden = true;
  status("sampling the next pair…");
  const q = new URLSearchParams();
  for (const k of ["prompts", "into", "model", "a", "b", "temperatures", "seed", "max_tokens"])
    if (params.get(k)) q.set(k, params.get(k));
  if (params.get("per_annotator") === "1" && me) q.set("annotator", me);
  q.set("after", String(cursor));
  const r = await wb.api("/v1/comparisons/next?" + q.toString());
  if (r.status === 404 && r.body.error && r.body.error.code === "all_labeled") {
    status("every prompt is labeled (" + saved + " saved here)");
    setState("done");
    return;  // stays busy: nothing more to label
  }
  if (r.status !== 200) { status(wb.errorText(r), true); setState("error"); return; }
  pair = r.body;
  cursor = pair.index;
  choice = {};
  $("prompt").textContent = pair.prompt;
  $("response-a").textContent = pair.response_a;
  $("response-b").textContent = pair.response_b;
  $("pair-box").hidden = false;
  showChoice();
  status((saved ? "saved " + saved + " · " : "") + pair.remaining + " to label" +
         (pair.skipped_empty.length ? " · rows passed over (empty answers): " + pair.skipped_empty.join(", ") : ""));
  shownAt = performance.now();
  document.body.dataset.index = String(pair.index);
  busy = false;
  setState("ready");
}

async function save() {
  if (!choice.chosen || choice.rating === undefined || !choice.safety) {
    status("choose the better answer, its strength and the safety label first", true);
    return;
  }
  busy = true;
  setState("busy");
  const body = {dataset: pair.dataset, prompt: pair.prompt, response_a: pair.response_a, response_b: pair.response_b,
                chosen: choice.chosen, rating: choice.rating, safety: choice.safety,
                is_safety_prompt: !!pair.is_safety_prompt, annotator: me || "web", source: "human",
                model_a: pair.model_a, model_b: pair.model_b,
                seconds: Math.round((performance.now() - shownAt) / 100) / 10};
  const r = await wb.api("/v1/comparisons", {method: "POST", body});
  if (r.status !== 201) { status("not saved: " + wb.errorText(r), true); busy = false; setState("ready"); return; }
  saved += 1;
  await loadNext();
}

document.addEventListener("keydown", (e) => {
  if (busy || !pair || e.target.tagName === "INPUT" || e.ctrlKey || e.metaKey || e.altKey) return;
  const k = e.key;
  if (k === "a" || k === "b") choice.chosen = k;
  else if (k in RATINGS) choice.rating = RATINGS[k];
  else if (k in SAFETY) choice.safety = SAFETY[k];
  else if (k === "p") pair.is_safety_prompt = !pair.is_safety_prompt;
  else if (k === "Backspace") choice = {};
  else if (k === "Enter") { e.preventDefault(); save(); return; }
  else if (k === "n") { loadNext(); return; }
  else return;
  e.preventDefault();
  showChoice();
});

wb.requireToken($("token-box"), async () => {
  for (const k of ["prompts", "into", "model"])
    if (!params.get(k)) {
      status("the page's address needs ?prompts=…&into=…&model=… (docs/WEB.md)", true);
      setState("error");
      return;
    }
  const r = await wb.api("/v1/annotators/me");
  if (r.status === 401) {
    wb.forgetToken();
    status("the token was refused; reload the page to enter it again", true);
    setState("error");
    return;
  }
  if (r.status === 200) { me = r.body.name; $("who").textContent = "labeling as " + me; }
  await loadNext();
});
