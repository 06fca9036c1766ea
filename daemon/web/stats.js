// stats.js — label statistics (GET /v1/comparisons/stats[?dataset=], ?dataset= in the page's
// address): labels per annotator, agreement on pairs labeled by more than one annotator
// (docs/LABELING.md), and Cohen's kappa for every two annotators.
"use strict";

const $ = (id) => document.getElementById(id);

async function show() {
  const dataset = new URLSearchParams(location.search).get("dataset");
  $("dataset").textContent = dataset ? "· " + dataset : "· all preference datasets";
  const r = await wb.api("/v1/comparisons/stats" + (dataset ? "?dataset=" + encodeURIComponent(dataset) : ""));
  if (r.status !== 200) { $("status").textContent = wb.errorText(r); return; }
  const s = r.body;
  const box = $("stats");
  box.replaceChildren();
  box.appendChild(wb.el("p", s.total + " labels · " + s.safety_prompts + " on safety prompts · chosen A " +
                         s.chosen.a + " / B " + s.chosen.b));
  box.appendChild(wb.el("h2", "labels per annotator"));
  box.appendChild(wb.table(["annotator", "labels"], Object.entries(s.annotator)));
  const g = s.agreement;
  box.appendChild(wb.el("h2", "agreement on pairs labeled by more than one annotator"));
  box.appendChild(wb.table(["pairs", "couples", "same preferred response", "ratings within one", "same safety label"],
                           [[g.pairs, g.couples, wb.pct(g.preference_rate), wb.pct(g.rating_within_one_rate),
                             wb.pct(g.safety_rate)]]));
  box.appendChild(wb.el("h2", "every two annotators"));
  const couples = s.annotator_couples.map((c) => [c.annotators.join(" & "), c.pairs, wb.pct(c.preference_rate),
                                                  c.kappa === null ? "–" : c.kappa.toFixed(3)]);
  const t = wb.table(["annotators", "pairs both labeled", "same preferred response", "Cohen's kappa"], couples);
  t.id = "couples";
  box.appendChild(t);
}

wb.requireToken($("token-box"), show);
