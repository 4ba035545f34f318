// The interactive Manhattan plot: one self-contained HTML page (no network:
// the SVG, the style and a small script are inline) where hovering a point
// shows its id, position and p-value, and dragging across the plot (or the
// wheel) zooms into a region; double-click or Reset shows the whole genome
// again. Browser-safe: a string in, a string out.
import { ArgumentError } from '../errors.js';
import type { ManhattanResult } from './manhattan.js';
import { esc } from './svg.js';

/** Options of `interactiveManhattanHtml`. */
export interface InteractivePageOptions {
  /** The page title (default 'Manhattan plot'). */
  title?: string;
}

// The page's script, plain ES2015 run once on load. The points keep their
// drawn x (data space of the whole-genome view) in `base`; a view is an
// interval of that space mapped onto the plot area, so zooming only rewrites
// cx, and the x ticks are recomputed from the chromosomes' layout.
const SCRIPT = `(function () {
  var L = JSON.parse(document.getElementById('lmk-layout').textContent);
  var svg = document.querySelector('#lmk-plot svg');
  var NS = 'http://www.w3.org/2000/svg';
  var A = L.area;
  var pts = Array.prototype.slice.call(svg.querySelectorAll('.lmk-points circle'));
  var base = pts.map(function (c) { return +c.getAttribute('cx'); });
  pts.forEach(function (c) { var t = c.querySelector('title'); if (t) t.remove(); });
  var ticks = svg.querySelector('.lmk-xticks');
  var labels = svg.querySelector('.lmk-labels');
  var xLabel = svg.querySelector('.lmk-xlabel');
  var xLabelText = xLabel ? xLabel.textContent : '';
  var zoomTicks = document.createElementNS(NS, 'g');
  zoomTicks.setAttribute('class', 'lmk-zoomticks');
  svg.appendChild(zoomTicks);
  var sel = document.createElementNS(NS, 'rect');
  sel.setAttribute('class', 'lmk-sel');
  sel.setAttribute('y', A.top);
  sel.setAttribute('height', A.bottom - A.top);
  sel.style.display = 'none';
  svg.appendChild(sel);
  var tip = document.getElementById('lmk-tip');
  var range = document.getElementById('lmk-range');
  var view = [A.left, A.right];
  function toScreen(b) { return A.left + (b - view[0]) * (A.right - A.left) / (view[1] - view[0]); }
  function toBase(s) { return view[0] + (s - A.left) * (view[1] - view[0]) / (A.right - A.left); }
  function local(e) { var p = svg.createSVGPoint(); p.x = e.clientX; p.y = e.clientY; return p.matrixTransform(svg.getScreenCTM().inverse()); }
  function nice(lo, hi, count) {
    var raw = (hi - lo) / Math.max(1, count), mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * mag; }).find(function (s) { return s >= raw; });
    var out = [];
    for (var k = Math.ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * step; k++) out.push(Number((k * step).toPrecision(12)));
    return out;
  }
  function bp(ch, b) { return Math.round(ch.minPos + (b - ch.x0) * L.bpPerPixel); }
  function redraw() {
    var zoomed = view[0] > A.left + 1e-6 || view[1] < A.right - 1e-6;
    for (var k = 0; k < pts.length; k++) pts[k].setAttribute('cx', toScreen(base[k]).toFixed(2));
    if (labels) labels.style.display = zoomed ? 'none' : '';
    if (ticks) ticks.style.display = zoomed ? 'none' : '';
    while (zoomTicks.firstChild) zoomTicks.removeChild(zoomTicks.firstChild);
    var shown = L.chromosomes.filter(function (ch) { return ch.end > view[0] && ch.start < view[1]; });
    var text = [];
    if (zoomed) {
      shown.forEach(function (ch) {
        var b0 = Math.max(view[0], ch.x0), b1 = Math.min(view[1], ch.x0 + (ch.maxPos - ch.minPos) / L.bpPerPixel);
        if (!(b1 >= b0)) return;
        var lo = bp(ch, b0), hi = bp(ch, b1);
        text.push(ch.name + ':' + lo.toLocaleString('en') + '-' + hi.toLocaleString('en'));
        var px = toScreen(b1) - toScreen(b0);
        if (px < 30 || hi <= lo) return;
        nice(lo / 1e6, hi / 1e6, Math.max(1, Math.round(px / 110))).forEach(function (mb) {
          var x = toScreen(ch.x0 + (mb * 1e6 - ch.minPos) / L.bpPerPixel);
          if (x < A.left - 0.5 || x > A.right + 0.5) return;
          var m = document.createElementNS(NS, 'path');
          m.setAttribute('d', 'M' + x.toFixed(2) + ' ' + A.bottom + 'v5');
          m.setAttribute('stroke', '#444');
          zoomTicks.appendChild(m);
          var t = document.createElementNS(NS, 'text');
          t.setAttribute('x', x.toFixed(2));
          t.setAttribute('y', A.bottom + 5 + L.tickSize);
          t.setAttribute('font-size', L.tickSize);
          t.setAttribute('text-anchor', 'middle');
          t.setAttribute('fill', '#222');
          t.textContent = (shown.length > 1 ? ch.name + ':' : '') + mb;
          zoomTicks.appendChild(t);
        });
      });
    }
    if (xLabel) xLabel.textContent = !zoomed ? xLabelText : shown.length === 1 ? 'Chromosome ' + shown[0].name + ' position (Mb)' : 'Chromosome:position (Mb)';
    range.textContent = zoomed ? text.join(', ') + (shown.length === 1 ? ' (ticks in Mb)' : '') : 'whole genome';
  }
  function zoomTo(b0, b1) {
    var lo = Math.max(A.left, Math.min(b0, b1)), hi = Math.min(A.right, Math.max(b0, b1));
    if (hi - lo < 1e-3) return;
    view = [lo, hi];
    redraw();
  }
  var drag = null;
  svg.addEventListener('mousedown', function (e) {
    var p = local(e);
    if (p.x < A.left || p.x > A.right || p.y < A.top || p.y > A.bottom) return;
    drag = p.x;
    e.preventDefault();
  });
  window.addEventListener('mousemove', function (e) {
    if (drag === null) return;
    var x = Math.max(A.left, Math.min(A.right, local(e).x));
    sel.setAttribute('x', Math.min(drag, x));
    sel.setAttribute('width', Math.abs(x - drag));
    sel.style.display = '';
  });
  window.addEventListener('mouseup', function (e) {
    if (drag === null) return;
    var x = Math.max(A.left, Math.min(A.right, local(e).x));
    sel.style.display = 'none';
    if (Math.abs(x - drag) > 3) zoomTo(toBase(drag), toBase(x));
    drag = null;
  });
  svg.addEventListener('wheel', function (e) {
    var p = local(e);
    if (p.x < A.left || p.x > A.right) return;
    e.preventDefault();
    var at = toBase(p.x), f = e.deltaY < 0 ? 1 / 1.25 : 1.25;
    zoomTo(at - (at - view[0]) * f, at + (view[1] - at) * f);
  }, { passive: false });
  function reset() { view = [A.left, A.right]; redraw(); }
  svg.addEventListener('dblclick', reset);
  document.getElementById('lmk-reset').addEventListener('click', reset);
  svg.addEventListener('mouseover', function (e) {
    var c = e.target;
    if (c.tagName !== 'circle' || !c.hasAttribute('data-id')) return;
    c.classList.add('lmk-hot');
    tip.textContent = c.getAttribute('data-id') + '  ' + c.getAttribute('data-chr') + ':' + Number(c.getAttribute('data-pos')).toLocaleString('en') + '  p = ' + c.getAttribute('data-p');
    var r = c.getBoundingClientRect();
    tip.style.display = 'block';
    var left = r.right + 8;
    if (left + tip.offsetWidth > document.documentElement.clientWidth - 4) left = r.left - 8 - tip.offsetWidth;
    tip.style.left = (Math.max(0, left) + window.scrollX) + 'px';
    tip.style.top = (r.top + window.scrollY - 30) + 'px';
  });
  svg.addEventListener('mouseout', function (e) {
    if (e.target.tagName !== 'circle') return;
    e.target.classList.remove('lmk-hot');
    tip.style.display = 'none';
  });
  redraw();
})();`;

const STYLE = `body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif; margin: 12px; color: #222; }
#lmk-bar { font-size: 13px; margin-bottom: 6px; }
#lmk-bar button { font: inherit; margin-right: 10px; }
#lmk-plot svg { user-select: none; cursor: crosshair; }
.lmk-points circle { stroke: transparent; stroke-width: 4; }
.lmk-points circle.lmk-hot { stroke: #000; stroke-width: 1.5; }
.lmk-sel { fill: rgba(70, 130, 180, 0.2); stroke: steelblue; pointer-events: none; }
#lmk-tip { position: absolute; display: none; pointer-events: none; background: #fffbe6; border: 1px solid #999;
  border-radius: 3px; padding: 3px 6px; font-size: 12px; white-space: nowrap; box-shadow: 0 1px 3px rgba(0,0,0,.3); }`;

/**
 * The interactive Manhattan page: `plot` must come from `manhattanPlot`
 * with `interactive: true` (each point a circle with its id, chromosome,
 * position and p-value). Hover shows a point's id, position and p-value;
 * drag across the plot or turn the wheel to zoom into a region (the x axis
 * then shows positions in Mb), double-click or Reset to see everything.
 * One self-contained HTML document: no network, no library.
 */
export function interactiveManhattanHtml(plot: ManhattanResult, options: InteractivePageOptions = {}): string {
  if (plot.drawnRows === undefined) throw new ArgumentError('interactiveManhattanHtml: expected a plot drawn with interactive: true');
  const layout = {
    area: plot.area,
    bpPerPixel: plot.bpPerPixel,
    tickSize: 11,
    chromosomes: plot.chromosomes.map((c) => ({ name: c.name, start: c.start, end: c.end, x0: c.x0, minPos: c.minPos, maxPos: c.maxPos })),
  };
  // '<' escaped so that no string in the JSON can close the script element.
  const json = JSON.stringify(layout).replace(/</g, '\\u003c');
  const title = options.title ?? 'Manhattan plot';
  return (
    `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${esc(title)}</title>\n<style>\n${STYLE}\n</style>\n</head>\n<body>\n` +
    `<div id="lmk-bar"><button id="lmk-reset" type="button">Reset</button><span>Drag across the plot or use the wheel to zoom; double-click to reset. Showing: <span id="lmk-range">whole genome</span></span></div>\n` +
    `<div id="lmk-plot">\n${plot.svg}</div>\n<div id="lmk-tip" role="tooltip"></div>\n` +
    `<script type="application/json" id="lmk-layout">${json}</script>\n<script>\n${SCRIPT}\n</script>\n</body>\n</html>\n`
  );
}
