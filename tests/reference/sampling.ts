/** Indices of the k best values (larger first, ties by smaller index; NaN as -inf). */
export function topkRef(row: ArrayLike<number>, k: number): number[] {
  const key = (i: number) => (Number.isNaN(row[i]!) ? -Infinity : row[i]!);
  const order = Array.from({ length: row.length }, (_, i) => i);
  order.sort((a, b) => key(b) - key(a) || a - b);
  return order.slice(0, k);
}

/** float64 log sum exp(row / temperature). */
export function logZRef(row: ArrayLike<number>, temperature: number): number {
  let mx = -Infinity;
  for (let i = 0; i < row.length; i++) mx = Math.max(mx, row[i]! / temperature);
  let s = 0;
  for (let i = 0; i < row.length; i++) s += Math.exp(row[i]! / temperature - mx);
  return mx + Math.log(s);
}
