/**
 * A loss chart as a standalone SVG (no fonts or scripts needed): train and validation loss by step,
 * with a title, labelled axes, round-number ticks, grid lines and a legend.
 */

export interface Series { name: string; color: string; points: [number, number][]; dots?: boolean }

/** About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of ten). */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  // From the last tick at or below lo to the first at or above hi, so the data always fits.
  const first = Math.floor(lo / step);
  const last = Math.ceil(hi / step - 1e-9);
  for (let k = first; k <= last; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function lossChartSvg(o: { title: string; xLabel: string; yLabel: string; series: Series[] }): string {
  const W = 760;
  const H = 440;
  const m = { left: 70, right: 24, top: 48, bottom: 58 };
  const all = o.series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const xTicks = niceTicks(0, Math.max(1, ...xs));
  const yTicks = niceTicks(Math.min(...ys), Math.max(...ys));
  const [x0, x1] = [xTicks[0]!, xTicks[xTicks.length - 1]!];
  const [y0, y1] = [yTicks[0]!, yTicks[yTicks.length - 1]!];
  const px = (x: number) => m.left + ((x - x0) / (x1 - x0 || 1)) * (W - m.left - m.right);
  const py = (y: number) => H - m.bottom - ((y - y0) / (y1 - y0 || 1)) * (H - m.top - m.bottom);
  const fmt = (v: number) => String(Number(v.toPrecision(4)));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="28" text-anchor="middle" font-size="17" font-weight="bold">${esc(o.title)}</text>`,
  ];
  for (const t of yTicks) {
    out.push(`<line x1="${m.left}" x2="${W - m.right}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#e3e3e3"/>`,
      `<text x="${m.left - 8}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line x1="${px(t).toFixed(1)}" x2="${px(t).toFixed(1)}" y1="${m.top}" y2="${H - m.bottom}" stroke="#e3e3e3"/>`,
      `<text x="${px(t).toFixed(1)}" y="${H - m.bottom + 20}" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${W - m.left - m.right}" height="${H - m.top - m.bottom}" fill="none" stroke="#333"/>`,
    `<text x="${(m.left + W - m.right) / 2}" y="${H - 14}" text-anchor="middle">${esc(o.xLabel)}</text>`,
    `<text transform="translate(20 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  for (const s of o.series) {
    const pts = s.points.filter(([, y]) => Number.isFinite(y));
    if (pts.length === 0) continue;
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    if (s.dots) for (const [x, y] of pts) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
  }
  // Legend box sized to its longest name (about 7.5 px per character at 13 px).
  const legendWidth = 62 + Math.ceil(7.5 * Math.max(...o.series.map((s) => s.name.length)));
  const lx = W - m.right - legendWidth - 12;
  out.push(`<rect x="${lx}" y="${m.top + 10}" width="${legendWidth}" height="${14 + 22 * o.series.length}" fill="white" stroke="#999"/>`);
  o.series.forEach((s, i) => {
    const y = m.top + 30 + 22 * i;
    out.push(`<line x1="${lx + 10}" x2="${lx + 40}" y1="${y - 4}" y2="${y - 4}" stroke="${s.color}" stroke-width="3"/>`,
      `<text x="${lx + 48}" y="${y}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
