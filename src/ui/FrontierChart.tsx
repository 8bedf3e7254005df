import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { nearestLine, type FrontierData, type FrontierLine } from './frontier-points';

export interface FrontierPick {
  line: FrontierLine;
  index: number;
}

/**
 * Perplexity (log scale) against ideal speedup or blocks removed, one line per criterion (uPlot).
 * The pointer picks the nearest line's point at its x: `onHover` while it moves, `onPick` on a click.
 */
export default function FrontierChart({ data, axis, current, onHover, onPick }: {
  data: FrontierData;
  axis: 'speedup' | 'removed';
  current: { index: number; ppl: number } | null;
  onHover: (p: FrontierPick | null) => void;
  onPick: (p: FrontierPick) => void;
}) {
  const host = useRef<HTMLDivElement>(null);
  // Handlers change every render; the plot keeps the latest through a ref instead of being rebuilt.
  const handlers = useRef({ onHover, onPick });
  handlers.current = { onHover, onPick };
  useEffect(() => {
    const el = host.current;
    if (!el || data.xs.length === 0) return;
    const css = getComputedStyle(document.documentElement);
    const fg = css.getPropertyValue('--fg').trim() || '#222';
    const grid = css.getPropertyValue('--border').trim() || '#ccc';
    const axisStyle = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const fmt = (v: number | null) => (v == null ? '–' : v.toFixed(2));
    const opts: uPlot.Options = {
      width: Math.max(320, el.clientWidth),
      height: 280,
      scales: { x: { time: false }, y: { distr: 3 } },
      axes: [
        { ...axisStyle, label: axis === 'speedup' ? 'memory-bound ideal decode speedup ×' : 'blocks removed', ...(axis === 'removed' ? { incrs: [1, 2, 4, 8] } : {}), values: (_u, v) => v.map((t) => (axis === 'speedup' ? `${t.toFixed(2)}×` : String(t))) },
        { ...axisStyle, label: 'held-out perplexity (log)', size: 60 },
      ],
      series: [
        { label: axis === 'speedup' ? 'ideal speedup' : 'removed', value: (_u, v) => (v == null ? '–' : axis === 'speedup' ? `${v.toFixed(3)}×` : String(v)) },
        ...data.lines.map((l) => ({ label: l.label, stroke: l.color, width: 2, spanGaps: true, points: { show: true, size: 7, fill: l.color }, value: (_u: uPlot, v: number | null) => fmt(v) })),
        { label: 'current plan', stroke: '#d9822b', width: 0, points: { show: true, size: 13, fill: 'transparent', stroke: '#d9822b', width: 3 }, paths: () => null, value: (_u, v) => fmt(v) },
      ],
      cursor: { points: { size: 9 } },
      legend: { live: true },
    };
    const plotData: uPlot.AlignedData = [data.xs, ...data.lines.map((l) => l.ppl), data.xs.map((_, i) => (i === current?.index ? current.ppl : null))];
    const plot = new uPlot(opts, plotData, el);
    // The pointer's x picks the index, its y (in PPL) the nearest line there.
    const at = (e: MouseEvent): FrontierPick | null => {
      const index = plot.posToIdx(e.offsetX);
      const line = index >= 0 && index < data.xs.length ? nearestLine(data, index, plot.posToVal(e.offsetY, 'y')) : null;
      return line ? { line, index } : null;
    };
    const move = (e: MouseEvent) => handlers.current.onHover(at(e));
    const leave = () => handlers.current.onHover(null);
    const click = (e: MouseEvent) => {
      const p = at(e);
      if (p) handlers.current.onPick(p);
    };
    plot.over.addEventListener('mousemove', move);
    plot.over.addEventListener('mouseleave', leave);
    plot.over.addEventListener('click', click);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(320, el.clientWidth), height: 280 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.over.removeEventListener('mousemove', move);
      plot.over.removeEventListener('mouseleave', leave);
      plot.over.removeEventListener('click', click);
      plot.destroy();
    };
  }, [data, axis, current?.index, current?.ppl]);
  return <div ref={host} className="frontier-chart" data-testid="frontier-chart" role="img" aria-label={`Perplexity against ${axis === 'speedup' ? 'ideal speedup' : 'blocks removed'}: ${data.lines.map((l) => `${l.label} ${l.ppl.filter((v) => v != null).map((v) => v!.toFixed(2)).join(', ')}`).join('; ')}`} />;
}
