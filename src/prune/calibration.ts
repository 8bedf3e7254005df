/**
 * The calibration set by the seed's rule (METHOD.md): N windows of T tokens, each from a random
 * document not used before that tokenizes to at least T tokens, at a random offset inside it.
 *
 * A document is a blank-line-separated paragraph of the calibration text (in the embedded KJV
 * text: one chapter). The draws use mulberry32(seed), the same generator the PyTorch fixture
 * script implements, so both sides produce identical windows.
 */
import type { BosMode } from '../eval/perplexity';
import { mulberry32 } from '../util/random';

export interface CalibrationSpec {
  /** SHA-256 (hex) of the calibration text. */
  textSha256: string;
  description: string;
  n: number;
  t: number;
  seed: number;
  bos: BosMode;
}

export interface CalibrationTokenizer {
  encode(text: string, addSpecialTokens: boolean): number[];
  bosId: number;
}

export interface CalibrationSet {
  spec: CalibrationSpec;
  /** Row-major [n, t] token ids. */
  ids: Uint32Array;
  /** The (document, start) draw of each window, for display and replay. */
  draws: { doc: number; start: number }[];
}

export class CalibrationError extends Error {
  override name = 'CalibrationError';
}

export function splitDocuments(text: string): string[] {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
}

/** Accepts plain text, or JSON Lines with a "text" field per line (documents = lines). */
export function documentsFromUpload(fileName: string, content: string): string[] {
  if (!/\.jsonl$/i.test(fileName)) return splitDocuments(content);
  const docs: string[] = [];
  content.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new CalibrationError(`${fileName}: line ${i + 1} is not valid JSON`);
    }
    const text = (row as { text?: unknown }).text;
    if (typeof text !== 'string') throw new CalibrationError(`${fileName}: line ${i + 1} has no string "text" field`);
    if (text.trim()) docs.push(text);
  });
  return docs;
}

export function sampleCalibration(
  documents: string[],
  tokenizer: CalibrationTokenizer,
  spec: Omit<CalibrationSpec, 'textSha256' | 'description'> & { textSha256: string; description: string },
): CalibrationSet {
  const { n, t, seed, bos } = spec;
  if (!(n >= 1 && t >= 2)) throw new CalibrationError(`need N >= 1 and T >= 2 (got N=${n}, T=${t})`);
  const rand = mulberry32(seed);
  // The seed tokenizes each document with BOS at position 0; "every" tokenizes without
  // special tokens and prepends BOS to each window instead.
  const encoded: (number[] | undefined)[] = new Array(documents.length);
  const used = new Set<number>();
  const ids = new Uint32Array(n * t);
  const draws: { doc: number; start: number }[] = [];
  let misses = 0;
  while (draws.length < n) {
    if (used.size === documents.length || misses > documents.length * 4) {
      const long = encoded.filter((e) => e && e.length >= t).length;
      throw new CalibrationError(
        `not enough text for ${n} x ${t} calibration tokens: found ${long} documents of at least ${t} tokens ` +
          `(of ${documents.length}); need ${n} distinct documents (blank-line-separated) of >= ${t} tokens each`,
      );
    }
    const doc = Math.floor(rand() * documents.length);
    if (used.has(doc)) {
      misses++;
      continue;
    }
    used.add(doc);
    const tokens = (encoded[doc] ??= tokenizer.encode(documents[doc]!, bos === 'first'));
    if (tokens.length < t) continue;
    const start = Math.floor(rand() * (tokens.length - t + 1));
    const row = ids.subarray(draws.length * t, (draws.length + 1) * t);
    if (bos === 'first') row.set(tokens.slice(start, start + t));
    else {
      row[0] = tokenizer.bosId;
      row.set(tokens.slice(start, start + t - 1), 1);
    }
    draws.push({ doc, start });
    misses = 0;
  }
  return { spec: { ...spec }, ids, draws };
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
