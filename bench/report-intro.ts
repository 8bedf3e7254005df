/**
 * The hand-written head of docs/benchmarks.md: a fixed preamble, then bench/narrative.md (what
 * the committed figures show), so regenerating the report keeps the narrative.
 */
export const NARRATIVE_FILE = 'bench/narrative.md';

export function reportIntro(narrative: string): string[] {
  return [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (bench/report.ts), one section per adapter. Ratios compare figures measured in the',
    'same run (bandwidth and FMA probes, the full model), so they survive a noisy machine; absolute numbers on a',
    'software adapter (SwiftShader) say nothing about a real GPU. Headline decode figures are GPU time from',
    'timestamp queries where the adapter has them; queue-synchronised wall clock (what a user waits for, host',
    'overhead included) is in the "wall" columns.',
    '',
    narrative.trimEnd(),
    '',
  ];
}
