/** One row of an engine sweep (k blocks removed) from its speed result and the full model's: Node's sweep and the browser's bench page share it. */
import { speedup, type SpeedResult } from '../src/eval/speed';

export interface SweepRow {
  removed: number;
  blocks: number;
  decodeTokensPerS: number;
  prefillTokensPerS: number;
  measuredSpeedup: number;
  idealSpeedup: number;
  ofIdeal: number;
  decodeGBps: number;
  timing: SpeedResult['timing'];
  wallDecodeTokensPerS: number;
  wallSpeedup: number;
  hostMsPerToken: number;
  dispatchesPerStep: number;
  hostUsPerDispatch: number;
  /** Slowest and fastest timed run, decode tok/s. */
  decodeRunRange: [number, number];
}

export function sweepRow(removed: number, r: SpeedResult, full: SpeedResult): SweepRow {
  const s = speedup(full, r);
  return {
    removed, blocks: r.blocks, decodeTokensPerS: r.decodeTokensPerS, prefillTokensPerS: r.prefillTokensPerS,
    measuredSpeedup: s.measured, idealSpeedup: s.ideal, ofIdeal: s.ofIdeal, decodeGBps: (r.weightBytesPerToken * r.decodeTokensPerS) / 1e9,
    timing: r.timing, wallDecodeTokensPerS: r.wall.decodeTokensPerS, wallSpeedup: r.wall.decodeTokensPerS / full.wall.decodeTokensPerS,
    hostMsPerToken: r.hostMsPerDecodeToken, dispatchesPerStep: r.dispatchesPerDecodeStep, hostUsPerDispatch: r.hostUsPerDispatch,
    decodeRunRange: [Math.min(...r.decodeRunsTokensPerS), Math.max(...r.decodeRunsTokensPerS)],
  };
}

export function describeRow(r: SweepRow): string {
  return `decode ${r.decodeTokensPerS.toFixed(1)} tok/s (${r.timing}; x${r.measuredSpeedup.toFixed(3)}, ideal x${r.idealSpeedup.toFixed(3)}, ${(100 * r.ofIdeal).toFixed(1)}%), ${r.decodeGBps.toFixed(2)} GB/s; ` +
    `wall clock ${r.wallDecodeTokensPerS.toFixed(1)} tok/s, host ${r.hostMsPerToken.toFixed(3)} ms/token = ${r.hostUsPerDispatch.toFixed(2)} us x ${r.dispatchesPerStep} dispatches`;
}
