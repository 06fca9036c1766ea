// plot.js — a line plot drawn as SVG by hand: one polyline per series over (step, value), axes
// with their ranges. Each polyline carries data-points (its point count) and data-name.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"];

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// series: [{name, points: [[step, value], ...]}]; returns an <svg> element.
function plotLines(series, width = 640, height = 260) {
  const pad = {l: 56, r: 12, t: 10, b: 28};
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p[1]));
  const svg = svgEl("svg", {class: "plot", width, height, viewBox: `0 0 ${width} ${height}`});
  if (!all.length) { svg.appendChild(svgEl("text", {x: pad.l, y: height / 2}, "no points yet")); return svg; }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const sx = (x) => pad.l + (x - x0) / (x1 - x0) * (width - pad.l - pad.r);
  const sy = (y) => height - pad.b - (y - y0) / (y1 - y0) * (height - pad.t - pad.b);
  svg.appendChild(svgEl("line", {x1: pad.l, y1: height - pad.b, x2: width - pad.r, y2: height - pad.b, stroke: "#888"}));
  svg.appendChild(svgEl("line", {x1: pad.l, y1: pad.t, x2: pad.l, y2: height - pad.b, stroke: "#888"}));
  svg.appendChild(svgEl("text", {x: 4, y: pad.t + 10}, y1.toPrecision(4)));
  svg.appendChild(svgEl("text", {x: 4, y: height - pad.b}, y0.toPrecision(4)));
  svg.appendChild(svgEl("text", {x: pad.l, y: height - 8}, "step " + x0));
  svg.appendChild(svgEl("text", {x: width - pad.r - 70, y: height - 8}, "step " + x1));
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    const line = svgEl("polyline", {fill: "none", stroke: COLOURS[i % COLOURS.length], "stroke-width": 1.5,
                                    points: pts.map((p) => sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1)).join(" "),
                                    "data-name": s.name, "data-points": pts.length});
    svg.appendChild(line);
    if (pts.length === 1) svg.appendChild(svgEl("circle", {cx: sx(pts[0][0]), cy: sy(pts[0][1]), r: 3,
                                                           fill: COLOURS[i % COLOURS.length]}));
  });
  return svg;
}
