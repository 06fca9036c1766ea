// runs.js — the runs page: jobs with state and progress, the selected job's metric curves (loss
// and eval curves, polled every second while it runs), a reward job's held-out accuracy by
// rating level (the reward plugin's eval_accuracy_rating_<k> metrics), and the demo's results.
"use strict";

let selected = null;  // the job id shown (?job=N, else the newest running job, else the newest)
const $ = (id) => document.getElementById(id);

async function refreshJobs() {
  const r = await wb.api("/v1/jobs?limit=50");
  if (r.status !== 200) { $("status").textContent = wb.errorText(r); return []; }
  const jobs = r.body.jobs;
  const rows = jobs.map((j) => [j.id, j.kind, j.state, (100 * j.progress).toFixed(0) + "%", j.phase || "",
                                j.spec.output || j.spec.name || "", j.error || ""]);
  const t = wb.table(["id", "kind", "state", "progress", "phase", "output", "error"], rows);
  t.querySelectorAll("tr").forEach((tr, i) => {
    if (i === 0) return;
    const id = jobs[i - 1].id;
    tr.style.cursor = "pointer";
    tr.addEventListener("click", () => { selected = id; history.replaceState(null, "", "?job=" + id); tick(); });
  });
  $("jobs").replaceChildren(t);
  return jobs;
}

// Curves: losses together, every other metric series on its own plot (eval curves included).
function drawCurves(points) {
  const byName = {};
  for (const p of points) (byName[p.name] = byName[p.name] || []).push([p.step, p.value]);
  const names = Object.keys(byName).sort();
  const losses = names.filter((n) => n.endsWith("loss"));
  const groups = [];
  if (losses.length) groups.push({title: "loss", names: losses});
  // Single-point metrics (final eval figures) are tables, not curves.
  for (const n of names) if (!n.endsWith("loss") && byName[n].length > 1) groups.push({title: n, names: [n]});
  const box = wb.el("div");
  for (const g of groups) {
    box.appendChild(wb.el("h3", g.title));
    const legend = wb.el("div", undefined, {class: "legend"});
    g.names.forEach((n, i) => {
      const item = wb.el("span", n + " (" + byName[n].length + " points)");
      item.style.color = COLOURS[i % COLOURS.length];
      legend.appendChild(item);
    });
    box.appendChild(legend);
    box.appendChild(plotLines(g.names.map((n) => ({name: n, points: byName[n]}))));
  }
  box.id = "plots";
  $("plots").replaceWith(box);
}

// Held-out pair accuracy by rating level, as the reward job records it.
function drawReward(metrics) {
  const rows = [];
  const words = {3: "significantly better", 2: "better", 1: "slightly better", 0: "negligibly better / unsure"};
  for (const k of [3, 2, 1, 0]) {
    const acc = metrics["eval_accuracy_rating_" + k];
    if (acc) rows.push([k + " " + words[k], wb.pct(acc.value), (metrics["eval_count_rating_" + k] || {}).value ?? ""]);
  }
  if (metrics.eval_accuracy) rows.push(["all held-out pairs", wb.pct(metrics.eval_accuracy.value), ""]);
  const box = wb.el("div");
  box.id = "reward";
  if (rows.length) {
    box.appendChild(wb.el("h3", "reward model accuracy by rating level"));
    box.appendChild(wb.table(["rating", "accuracy", "pairs"], rows));
  }
  $("reward").replaceWith(box);
}

async function tick() {
  const jobs = await refreshJobs();
  if (selected === null && jobs.length) selected = (jobs.find((j) => j.state === "running") || jobs[0]).id;
  if (selected === null) return;
  const [job, metrics] = await Promise.all([wb.api("/v1/jobs/" + selected), wb.api("/v1/jobs/" + selected + "/metrics")]);
  if (job.status !== 200 || metrics.status !== 200) { $("status").textContent = wb.errorText(job.status !== 200 ? job : metrics); return; }
  const j = job.body;
  $("job-title").textContent = "job " + j.id + " · " + j.kind + " · " + j.state + " · " + (100 * j.progress).toFixed(0) + "%";
  const latest = Object.entries(j.metrics || {}).map(([n, m]) => [n, m.step, m.value]);
  $("job-detail").replaceChildren(wb.table(["metric", "step", "latest value"], latest));
  drawCurves(metrics.body.metrics);
  drawReward(j.metrics || {});
  $("status").textContent = "updated " + new Date().toLocaleTimeString();
}

// The demo's results.json: every section with figures side by side as a table.
async function showDemo() {
  const r = await wb.api("/v1/demo/results");
  if (r.status !== 200) { $("demo").textContent = wb.errorText(r); return; }
  const d = r.body;
  const box = $("demo");
  box.replaceChildren(wb.el("p", "data dir " + d.data_dir + " · " + d.seconds + " s · " + d.eval_prompts + " held-out prompts"));
  if (d.base && d.sft_lora) {
    const keys = Object.keys(d.sft_lora);
    box.appendChild(wb.table(["held-out suite tasks", "base (pretrained)", "SFT (LoRA)"],
                             keys.map((k) => [k, wb.pct(d.base[k]), wb.pct(d.sft_lora[k])])));
  }
  const rm = d.reward_models;
  if (rm) {
    const paper = rm.paper_table8 || {helpfulness: {}, safety: {}};
    const rows = [3, 2, 1, 0].map((k) => [k, wb.pct((rm.helpfulness || {})["eval_accuracy_rating_" + k]),
                                          wb.pct(paper.helpfulness[k]), wb.pct((rm.safety || {})["eval_accuracy_rating_" + k]),
                                          wb.pct(paper.safety[k])]);
    box.appendChild(wb.el("h3", "reward model accuracy by rating level (paper: Llama 2, Table 8)"));
    box.appendChild(wb.table(["rating", "helpfulness", "paper", "safety", "paper"], rows));
  }
  // Any other section of scalar figures (the RLHF stages) as name / value rows.
  for (const [name, section] of Object.entries(d)) {
    if (["base", "sft_lora", "reward_models"].includes(name) || typeof section !== "object" || section === null) continue;
    const rows = Object.entries(section).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : v]);
    box.appendChild(wb.el("h3", name));
    box.appendChild(wb.table(["figure", "value"], rows));
  }
}

wb.requireToken($("token-box"), () => {
  const q = new URLSearchParams(location.search);
  if (q.get("job")) selected = Number(q.get("job"));
  tick();
  showDemo();
  setInterval(tick, 1000);
});
