/** docs/benchmarks.md is generated, so its narrative comes from bench/narrative.md: the committed report must begin as the generator writes it. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NARRATIVE_FILE, reportIntro } from '../../bench/report-intro';

describe('benchmark report head', () => {
  it('the committed docs/benchmarks.md starts with the preamble and bench/narrative.md, as bench/report.ts writes them', () => {
    const narrative = readFileSync(NARRATIVE_FILE, 'utf8');
    expect(narrative).toMatch(/^## Reading the figures\n/);
    const report = readFileSync('docs/benchmarks.md', 'utf8');
    expect(report.startsWith(`${reportIntro(narrative).join('\n')}\n## `)).toBe(true);
  });
});
