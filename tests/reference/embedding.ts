/** float64 reference of the embedding gather; ids >= vocab give zero rows. */
export function embeddingRef(ids: ArrayLike<number>, table: ArrayLike<number>, vocab: number, hidden: number): Float64Array {
  const y = new Float64Array(ids.length * hidden);
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r]!;
    if (id >= vocab) continue;
    for (let j = 0; j < hidden; j++) y[r * hidden + j] = table[id * hidden + j]!;
  }
  return y;
}
