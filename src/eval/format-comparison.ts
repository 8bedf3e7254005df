/**
 * The weight-format comparison's figures (plain data for the engine, the page and the CLI): speed
 * of the same plans in each format, and how each format's decode speed against float compares with
 * the bytes it saves. At batch 1 decode is memory-bound, so a format that reads r times fewer bytes
 * per step should decode up to r times faster: the target is 4-bit over F16 >= 0.8 x that ratio.
 */
import type { WeightFormat } from '../quant/formats';
import type { SpeedOptions, SpeedResult } from './speed';

/** One format's measurement: its plans' speeds, or why it could not be measured. */
export interface FormatSpeed {
  format: WeightFormat;
  /** Measured on the loaded model (its own format) rather than on a copy loaded for the comparison. */
  loaded: boolean;
  /** GPU bytes of the weights as loaded (0 when the load failed). */
  bytesOnGpu: number;
  /** One result per plan of the comparison, in its order (empty when `error`). */
  results: SpeedResult[];
  error?: string;
}

export interface FormatComparison {
  /** The plans measured in every format (the original first). */
  plans: number[][];
  options: SpeedOptions;
  /** Whether the quantized copies also quantized the embedding and LM head (as the loaded model). */
  embeddings: boolean;
  formats: FormatSpeed[];
}

/** A format's decode speed and bytes per step against float, on one plan. */
export interface FormatRatio {
  /** Decode tok/s over float's. */
  speed: number;
  /** Float's weight bytes per decode step over this format's. */
  bytes: number;
  /** speed / bytes: 1 when the format gains all its byte ratio. */
  ofBytes: number;
}

/** The ratios of `f` against float on plan `i`; null without a float measurement (or for a failed one). */
export function ratioToFloat(c: FormatComparison, f: FormatSpeed, i: number): FormatRatio | null {
  const float = c.formats.find((x) => x.format === 'float')?.results[i];
  const r = f.results[i];
  if (!float || !r) return null;
  const speed = r.decodeTokensPerS / float.decodeTokensPerS;
  const bytes = float.weightBytesPerToken / r.weightBytesPerToken;
  return { speed, bytes, ofBytes: speed / bytes };
}
