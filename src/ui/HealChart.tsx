import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { chartColours, mountPlot, useColourScheme } from './chart-theme';

/** Training loss per optimizer step (left axis) and held-out perplexity where measured (right axis), uPlot. */
export default function HealChart({ losses, ppl }: { losses: number[]; ppl: { step: number; ppl: number }[] }) {
  const host = useRef<HTMLDivElement>(null);
  const scheme = useColourScheme();
  useEffect(() => {
    const el = host.current;
    if (!el || (losses.length === 0 && ppl.length === 0)) return;
    const { accent, axis } = chartColours();
    const steps = [...new Set([...losses.map((_, i) => i + 1), ...ppl.map((p) => p.step)])].sort((a, b) => a - b);
    const pplAt = new Map(ppl.map((p) => [p.step, p.ppl]));
    const data: uPlot.AlignedData = [steps, steps.map((s) => losses[s - 1] ?? null), steps.map((s) => pplAt.get(s) ?? null)];
    const fixed = (d: number) => (_u: uPlot, v: number | null) => (v == null ? '–' : v.toFixed(d));
    return mountPlot(el, {
      scales: { x: { time: false }, ppl: { auto: true } },
      axes: [
        { ...axis, label: 'optimizer step' },
        { ...axis, label: 'training loss', size: 55 },
        { ...axis, scale: 'ppl', side: 1, label: 'held-out PPL', grid: { show: false }, size: 55 },
      ],
      series: [
        { label: 'step' },
        { label: 'training loss', stroke: accent, width: 2, spanGaps: true, value: fixed(4) },
        { label: 'held-out PPL', scale: 'ppl', stroke: '#d9822b', width: 2, spanGaps: true, points: { size: 8, fill: '#d9822b' }, value: fixed(2) },
      ],
      legend: { live: false },
    }, data, 220, uPlot);
  }, [losses, ppl, scheme]);
  const last = losses[losses.length - 1];
  return (
    <div ref={host} className="speed-chart" data-testid="heal-chart" data-steps={losses.length} role="img"
      aria-label={`Training loss over ${losses.length} steps${last !== undefined ? `, last ${last.toFixed(4)}` : ''}; held-out PPL ${ppl.map((p) => `step ${p.step}: ${p.ppl.toFixed(2)}`).join(', ') || 'not measured yet'}`} />
  );
}
