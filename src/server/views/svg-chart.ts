/**
 * Minimal inline-SVG charts for the job report: no script, no external asset, so the page works
 * offline and behind any proxy.
 */

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
/**
 * Series that coincide (accuracy equal to macro-F1, the total loss equal to its only term) would
 * hide each other if only colour told them apart: each series also gets its own dash pattern and
 * marker shape, so the one underneath shows through the gaps of the one on top.
 */
const DASHES = ['', '7 4', '2 3', '10 3 2 3', '4 4', '1 5'];
type Marker = (x: number, y: number, color: string) => string;
const MARKERS: Marker[] = [
  (x, y, c) => `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${c}"/>`,
  (x, y, c) => `<rect x="${(x - 3.5).toFixed(1)}" y="${(y - 3.5).toFixed(1)}" width="7" height="7" fill="none" stroke="${c}" stroke-width="1.5"/>`,
  (x, y, c) => `<path d="M${x.toFixed(1)},${(y - 4.5).toFixed(1)} l4.5,8 h-9 z" fill="none" stroke="${c}" stroke-width="1.5"/>`,
  (x, y, c) => `<path d="M${x.toFixed(1)},${(y - 4.5).toFixed(1)} l4.5,4.5 l-4.5,4.5 l-4.5,-4.5 z" fill="${c}"/>`,
  (x, y, c) => `<path d="M${(x - 4).toFixed(1)},${(y - 4).toFixed(1)} l8,8 m0,-8 l-8,8" stroke="${c}" stroke-width="1.5"/>`,
];
/** With more points than this a series is drawn as a line only (markers would be a smear). */
const MAX_MARKED_POINTS = 40;

export interface SeriesStyle {
  color: string;
  dash: string;
  marker: Marker;
}

export function seriesStyle(index: number): SeriesStyle {
  return {
    color: COLORS[index % COLORS.length] as string,
    dash: DASHES[index % DASHES.length] as string,
    marker: MARKERS[index % MARKERS.length] as Marker,
  };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function niceNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000 || a < 0.01) return v.toExponential(1);
  return v.toPrecision(3);
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  width?: number;
  height?: number;
  /** Plot y on a log scale (loss curves span orders of magnitude). */
  logY?: boolean;
}

export function lineChart(series: Series[], opts: LineChartOptions): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 260;
  const pad = { left: 56, right: 150, top: 28, bottom: 36 };
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y) && (!opts.logY || y > 0));
  if (all.length === 0) return `<p class="empty">${escapeHtml(opts.title)}: no data yet</p>`;
  const ty = (y: number): number => (opts.logY ? Math.log10(y) : y);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => ty(y));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const px = (x: number): number => pad.left + ((x - x0) / (x1 - x0 || 1)) * (width - pad.left - pad.right);
  const py = (y: number): number => height - pad.bottom - ((ty(y) - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  const lines = series
    .map((s, i) => {
      const pts = s.points.filter(([, y]) => Number.isFinite(y) && (!opts.logY || y > 0));
      if (pts.length === 0) return '';
      const { color, dash, marker } = seriesStyle(i);
      const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
      // A single point is a path without a segment, which draws nothing: markers make it visible.
      const marked = pts.length <= MAX_MARKED_POINTS;
      const line =
        pts.length > 1
          ? `<path class="series" data-series="${escapeHtml(s.name)}" d="${pts.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="1.5"${dashAttr}/>`
          : '';
      const markers = marked ? `<g class="markers" data-series="${escapeHtml(s.name)}">${pts.map(([x, y]) => marker(px(x), py(y), color)).join('')}</g>` : '';
      const legendY = pad.top + 14 * i;
      const lx = width - pad.right + 8;
      return (
        line +
        markers +
        `<line x1="${lx}" y1="${legendY - 3}" x2="${lx + 18}" y2="${legendY - 3}" stroke="${color}" stroke-width="1.5"${dashAttr}/>` +
        marker(lx + 9, legendY - 3, color) +
        `<text x="${lx + 24}" y="${legendY + 1}" font-size="11">${escapeHtml(s.name)}</text>`
      );
    })
    .join('');
  const yTicks = [0, 0.5, 1].map((f) => {
    const v = y0 + f * (y1 - y0);
    const shown = opts.logY ? 10 ** v : v;
    const y = height - pad.bottom - f * (height - pad.top - pad.bottom);
    return `<text x="${pad.left - 6}" y="${y + 4}" font-size="10" text-anchor="end">${niceNumber(shown)}</text>`;
  });
  return (
    `<figure><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(opts.title)}">` +
    `<text x="${pad.left}" y="16" font-size="13" font-weight="bold">${escapeHtml(opts.title)}</text>` +
    `<line x1="${pad.left}" y1="${height - pad.bottom}" x2="${width - pad.right}" y2="${height - pad.bottom}" stroke="#888"/>` +
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${height - pad.bottom}" stroke="#888"/>` +
    yTicks.join('') +
    `<text x="${pad.left}" y="${height - 8}" font-size="10">${niceNumber(x0)}</text>` +
    `<text x="${width - pad.right}" y="${height - 8}" font-size="10" text-anchor="end">${niceNumber(x1)}</text>` +
    `<text x="${(pad.left + width - pad.right) / 2}" y="${height - 8}" font-size="11" text-anchor="middle">${escapeHtml(opts.xLabel)}</text>` +
    lines +
    `</svg></figure>`
  );
}

export interface BarGroup {
  label: string;
  values: Array<{ name: string; value: number | undefined }>;
}

/** Grouped horizontal bars, one group per measure (e.g. accuracy, size, latency) normalised to its max. */
export function barChart(groups: BarGroup[], title: string, unitOf: (label: string) => string): string {
  const width = 640;
  const rowH = 16;
  const names = [...new Set(groups.flatMap((g) => g.values.map((v) => v.name)))];
  const height = 30 + groups.length * (names.length * rowH + 18);
  let y = 30;
  const parts: string[] = [];
  for (const g of groups) {
    const max = Math.max(...g.values.map((v) => v.value ?? 0), 1e-12);
    parts.push(`<text x="0" y="${y + 10}" font-size="12" font-weight="bold">${escapeHtml(g.label)}</text>`);
    y += 14;
    for (const v of g.values) {
      const w = v.value === undefined ? 0 : (v.value / max) * 360;
      const color = COLORS[names.indexOf(v.name) % COLORS.length];
      parts.push(
        `<text x="0" y="${y + 11}" font-size="11">${escapeHtml(v.name)}</text>` +
          `<rect x="150" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 4}" fill="${color}"/>` +
          `<text x="${156 + w}" y="${y + 11}" font-size="11">${v.value === undefined ? 'n/a' : `${niceNumber(v.value)} ${escapeHtml(unitOf(g.label))}`}</text>`,
      );
      y += rowH;
    }
    y += 4;
  }
  return (
    `<figure><svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${escapeHtml(title)}">` +
    `<text x="0" y="16" font-size="13" font-weight="bold">${escapeHtml(title)}</text>${parts.join('')}</svg></figure>`
  );
}
