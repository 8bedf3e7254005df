/** Plain-text tables and a stderr progress line for the CLI. */

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // Numbers align right, text left.
  const line = (cells: string[]) => cells.map((c, i) => (/^[-+\d.,e ]+[%x]?$/.test(c) && i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A progress callback that redraws one stderr line (only on a terminal; silent when quiet). */
export function progressBar(label: string, quiet?: boolean) {
  let last = 0;
  return (p: { done: number; total: number; what: string }) => {
    if (quiet) return;
    const now = Date.now();
    if (now - last < 200 && p.done < p.total) return;
    last = now;
    const pct = p.total > 0 ? Math.min(100, (100 * p.done) / p.total) : 0;
    const text = `${label}: ${pct.toFixed(0).padStart(3)}% ${p.what}`.slice(0, 100);
    if (process.stderr.isTTY) process.stderr.write(`\r${text.padEnd(100)}${p.done >= p.total ? '\n' : ''}`);
    else if (p.done >= p.total) process.stderr.write(`${text}\n`);
  };
}
