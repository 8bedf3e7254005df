import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { chartColours, mountPlot, useColourScheme } from './chart-theme';
import type { SpeedPoint } from './speed-points';

/** Decode speedup against blocks removed: measured and the memory-bound ideal (uPlot). */
/** `current`: the current plan's own point, when it was measured (it may differ from the sweep's plan of its count). */
export default function SpeedChart({ points, current }: { points: SpeedPoint[]; current: { removed: number; measured: number } | null }) {
  const host = useRef<HTMLDivElement>(null);
  // Colours come from the page's CSS variables: redraw when the colour scheme changes.
  const scheme = useColourScheme();
  useEffect(() => {
    const el = host.current;
    if (!el || points.length === 0) return;
    const { muted, accent, axis } = chartColours();
    const x = points.map((p) => p.removed);
    const opts: Omit<uPlot.Options, 'width' | 'height'> = {
      scales: { x: { time: false }, y: { range: (_u, min, max) => [Math.min(0.9, min), Math.max(1.1, max * 1.05)] } },
      axes: [
        { ...axis, label: 'blocks removed', incrs: [1, 2, 4, 8] },
        { ...axis, label: 'decode speedup ×', values: (_u, v) => v.map((t) => `${t.toFixed(2)}×`), size: 60 },
      ],
      series: [
        { label: 'removed' },
        { label: 'measured', stroke: accent, width: 2, spanGaps: true, points: { size: 7, fill: accent }, value: (_u, v) => (v == null ? '–' : `${v.toFixed(2)}×`) },
        { label: 'memory-bound ideal', stroke: muted, width: 2, spanGaps: true, dash: [6, 4], points: { size: 5 }, value: (_u, v) => (v == null ? '–' : `${v.toFixed(2)}×`) },
        { label: 'current plan', stroke: '#d9822b', width: 0, points: { size: 11, fill: '#d9822b', stroke: '#d9822b' }, paths: () => null, value: (_u, v) => (v == null ? '–' : `${v.toFixed(2)}×`) },
      ],
      legend: { live: false },
    };
    const line = (p: SpeedPoint, v: number) => (p.offLine ? null : v);
    const data: uPlot.AlignedData = [x, points.map((p) => line(p, p.measured)), points.map((p) => line(p, p.ideal)), points.map((p) => (p.removed === current?.removed ? current.measured : null))];
    return mountPlot(el, opts, data, 240, uPlot);
  }, [points, current?.removed, current?.measured, scheme]); // the values, not the object: a new one each render
  return <div ref={host} className="speed-chart" data-testid="speed-chart" role="img" aria-label={`Decode speedup against blocks removed: ${points.map((p) => `${p.removed} removed ${p.measured.toFixed(2)}× (ideal ${p.ideal.toFixed(2)}×)`).join('; ')}`} />;
}
