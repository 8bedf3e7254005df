import { useEffect, useState } from 'react';
import { ratioToFloat, type FormatComparison, type FormatSpeed } from '../eval/format-comparison';
import { WEIGHT_FORMATS, type WeightFormat } from '../quant/formats';
import type { ComparisonFit } from '../quant/memory-plan';
import { ErrorNote } from './ErrorNote';
import { comparisonFits, runFormatComparison } from './format-actions';
import { fmtBytes, fmtRate } from './format';
import { JobProgress } from './JobProgress';
import { formatLabel } from './ModelFacts';
import { anyJob, currentRecord, recordKey, useLab } from './store';

/**
 * The Speed panel's weight-format comparison: the original and the current plan in each chosen
 * format, each loaded beside the user's model, measured and freed; formats the memory plan cannot
 * fit beside it are disabled with the reason. `blocked`: why the panel's actions wait.
 */
export function FormatComparisonPanel({ blocked }: { blocked: string | null }) {
  const model = useLab((s) => s.model);
  const speed = useLab((s) => s.settings.speed);
  const chosen = useLab((s) => s.settings.compareFormats);
  const update = useLab((s) => s.updateSettings);
  const ready = useLab((s) => s.gpu.state === 'ready');
  const busy = useLab(anyJob);
  const comparison = useLab((s) => currentRecord(s).formats ?? null);
  const [fits, setFits] = useState<ComparisonFit[] | null>(null);
  const key = model ? recordKey(model) : null;
  // The plan depends on the loaded model and the speed run's context (prompt + new tokens).
  useEffect(() => {
    setFits(null);
    if (!key || !ready) return;
    let live = true;
    void comparisonFits(speed).then((f) => live && setFits(f));
    return () => void (live = false);
  }, [key, ready, speed]);
  const fit = (f: WeightFormat) => fits?.find((x) => x.format === f);
  const selected = chosen.filter((f) => fit(f)?.fits !== false);
  const toggle = (f: WeightFormat, on: boolean) => update({ compareFormats: WEIGHT_FORMATS.map((w) => w.id).filter((id) => (id === f ? on : chosen.includes(id))) });
  const reason = blocked ?? (selected.length === 0 ? 'Choose a format that fits.' : null);
  return (
    <div className="format-comparison" data-testid="format-comparison">
      <h3>Compare weight formats</h3>
      <div className="row">
        {WEIGHT_FORMATS.map((w) => {
          const f = fit(w.id);
          return (
            <label key={w.id} title={f?.reason ?? w.hint}>
              <input type="checkbox" checked={chosen.includes(w.id) && f?.fits !== false} disabled={f?.fits === false} onChange={(e) => toggle(w.id, e.target.checked)} data-testid={`compare-${w.id}`} />{' '}
              {w.label}{f?.loaded ? ' (loaded)' : ''}
              {f && !f.fits && <span className="error-text"> does not fit: {f.reason}</span>}
            </label>
          );
        })}
        <button type="button" disabled={busy || reason !== null} title={reason ?? undefined} onClick={() => void runFormatComparison(selected)} data-testid="run-compare-formats">Compare formats</button>
      </div>
      <p className="muted">
        The original and the current plan, with the Speed settings above, in each chosen format. The loaded model is measured as it is; each other format is
        read again from the same source into a copy beside it, measured and freed before the next, so the loaded model stays as it is. Formats run one
        after another (plans take turns within a format), so drift weighs less evenly across formats than across plans.
      </p>
      <JobProgress jobKey="compare" label="Format comparison" />
      <ErrorNote jobKey="compare" />
      {comparison && <ComparisonTable c={comparison} />}
    </div>
  );
}

const times = (x: number) => `${x.toFixed(2)}×`;

/** Per format: speed full and pruned, bytes, and decode speed against float's byte ratio. */
function ComparisonTable({ c }: { c: FormatComparison }) {
  const pruned = c.plans.length > 1;
  const first = c.formats.find((f) => f.results.length)?.results[0];
  const row = (f: FormatSpeed) => {
    const name = <th scope="row">{formatLabel(f.format)}{f.loaded ? ' (loaded)' : ''}</th>;
    if (f.error) return <tr key={f.format} data-testid={`compare-row-${f.format}`}>{name}<td colSpan={pruned ? 10 : 7} className="error-text">not measured: {f.error}</td></tr>;
    const [o, p] = f.results as [FormatSpeed['results'][0], FormatSpeed['results'][0] | undefined];
    const ratio = ratioToFloat(c, f, 0);
    const prunedRatio = pruned ? ratioToFloat(c, f, 1) : null;
    return (
      <tr key={f.format} data-testid={`compare-row-${f.format}`}>
        {name}
        <td>{fmtBytes(f.bytesOnGpu)}</td>
        <td>{fmtBytes(o.weightBytesPerToken)}{p ? ` / ${fmtBytes(p.weightBytesPerToken)}` : ''}</td>
        <td>{fmtRate(o.decodeTokensPerS)}</td>
        {pruned && <td>{fmtRate(p?.decodeTokensPerS)}</td>}
        <td>{fmtRate(o.prefillTokensPerS)}{p ? ` / ${fmtRate(p.prefillTokensPerS)}` : ''}</td>
        {pruned && <td>{p ? `${times(p.decodeTokensPerS / o.decodeTokensPerS)} (ideal ${times(o.weightBytesPerToken / p.weightBytesPerToken)})` : '–'}</td>}
        <td>{ratio ? times(ratio.speed) : '–'}</td>
        <td>{ratio ? times(ratio.bytes) : '–'}</td>
        <td data-testid={`of-bytes-${f.format}`}>{ratio ? ratio.ofBytes.toFixed(2) : '–'}{prunedRatio ? ` / ${prunedRatio.ofBytes.toFixed(2)}` : ''}</td>
      </tr>
    );
  };
  return (
    <table className="results" data-testid="compare-table">
      <caption className="muted">
        {first ? `${first.adapter}; ` : ''}{c.options.promptTokens} prompt + {c.options.newTokens} new tokens, {c.options.warmup} warm-up, {c.options.runs} runs
        {first ? `; ${first.timing === 'timestamp-query' ? 'GPU time (timestamp queries)' : 'wall clock'}` : ''}{c.embeddings ? '; embedding and LM head quantized too' : ''}.
        {' '}vs F16: decode tok/s of the original over F16&apos;s, F16&apos;s bytes per decode step over the format&apos;s, and their quotient (1 = the whole byte saving; the 4-bit target is ≥ 0.8)
        {pruned ? ', original / pruned' : ''}.
      </caption>
      <thead>
        <tr>
          <th scope="col">Format</th><th scope="col">GPU weights</th><th scope="col">Bytes / decode step{pruned ? ' (original / pruned)' : ''}</th>
          <th scope="col">Decode tok/s{pruned ? ' original' : ''}</th>{pruned && <th scope="col">Decode tok/s pruned</th>}
          <th scope="col">Prefill tok/s{pruned ? ' (original / pruned)' : ''}</th>{pruned && <th scope="col">Speedup</th>}
          <th scope="col">Decode vs F16</th><th scope="col">Bytes vs F16</th><th scope="col">Of byte ratio</th>
        </tr>
      </thead>
      <tbody>{c.formats.map(row)}</tbody>
    </table>
  );
}
