/** The page's colours for uPlot charts, read from its CSS variables, and a re-render when the colour scheme changes. */
import { useEffect, useState } from 'react';
import type uPlot from 'uplot';

export function useColourScheme(): boolean {
  const [dark, setDark] = useState(() => matchMedia('(prefers-color-scheme: dark)').matches);
  useEffect(() => {
    const mq = matchMedia('(prefers-color-scheme: dark)');
    const on = () => setDark(mq.matches);
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  return dark;
}

export function chartColours(): { fg: string; muted: string; accent: string; axis: uPlot.Axis } {
  const css = getComputedStyle(document.documentElement);
  const fg = css.getPropertyValue('--fg').trim() || '#222';
  const muted = css.getPropertyValue('--muted').trim() || '#666';
  const grid = css.getPropertyValue('--border').trim() || '#ccc';
  const accent = css.getPropertyValue('--accent').trim() || '#2f6fde';
  return { fg, muted, accent, axis: { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } } };
}

/** Draws a uPlot into `el` at its width, following resizes; returns the cleanup. */
export function mountPlot(el: HTMLElement, opts: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData, height: number, UPlot: typeof uPlot): () => void {
  const plot = new UPlot({ ...opts, width: Math.max(320, el.clientWidth), height }, data, el);
  const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(320, el.clientWidth), height }));
  resize.observe(el);
  return () => {
    resize.disconnect();
    plot.destroy();
  };
}
