/** The loss chart's axes cover the data and the SVG carries its title, axis labels and legend. */
import { describe, expect, it } from 'vitest';
import { lossChartSvg, niceTicks } from '../../lib/cli/loss-plot.js';

describe('loss chart', () => {
  it('ticks are round numbers that cover [lo, hi]', () => {
    for (const [lo, hi] of [[4.09, 6.03], [0, 28], [0.5, 0.52], [1, 1000]] as const) {
      const t = niceTicks(lo, hi);
      expect(t[0]).toBeLessThanOrEqual(lo);
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(hi);
      expect(t.length).toBeLessThanOrEqual(12);
    }
    expect(niceTicks(0, 28)).toEqual([0, 5, 10, 15, 20, 25, 30]);
  });

  it('has a title, axis labels, a legend entry per series and points inside the plot area', () => {
    const svg = lossChartSvg({ title: 'T', xLabel: 'step', yLabel: 'bits per character', series: [
      { name: 'train', color: '#00f', points: [[1, 6], [28, 4.1]] },
      { name: 'validation', color: '#f00', points: [[3, 5.2], [28, 4.09]], dots: true },
    ] });
    for (const s of ['>T<', '>step<', '>bits per character<', '>train<', '>validation<']) expect(svg).toContain(s);
    const coords = [...svg.matchAll(/points="([^"]+)"/g)].flatMap((m) => m[1]!.split(' ').map((p) => p.split(',').map(Number)));
    for (const [x, y] of coords) {
      expect(x).toBeGreaterThanOrEqual(70);
      expect(x).toBeLessThanOrEqual(760 - 24);
      expect(y).toBeGreaterThanOrEqual(48);
      expect(y).toBeLessThanOrEqual(440 - 58);
    }
  });
});
