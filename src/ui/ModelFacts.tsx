import type { MemoryPlan } from '../quant/memory-plan';
import { WEIGHT_FORMATS, type WeightFormat } from '../quant/formats';
import { fmtBytes, fmtCount } from './format';
import { useLab } from './store';

export const formatLabel = (id: WeightFormat | undefined) => WEIGHT_FORMATS.find((f) => f.id === (id ?? 'float'))!.label;

/** The loaded model's shape and its memory on the GPU. */
export function ModelFacts() {
  const m = useLab((s) => s.model);
  if (!m) return <p className="muted" data-testid="no-model">No model loaded yet.</p>;
  const src = m.source.kind === 'hub' ? `${m.source.id}@${m.source.revision}` : `${m.source.name} (${m.source.kind})`;
  const quantized = m.weightFormat !== undefined && m.weightFormat !== 'float';
  return (
    <dl className="facts model-facts" data-testid="model-facts">
      <div className="fact"><dt>Loaded</dt><dd data-testid="model-name">{src}</dd></div>
      <div className="fact"><dt>Blocks</dt><dd data-testid="model-blocks">{m.numLayers}</dd></div>
      <div className="fact"><dt>Width</dt><dd>{m.hiddenSize} (MLP {m.intermediateSize})</dd></div>
      <div className="fact"><dt>Heads</dt><dd>{m.numHeads} × {m.headDim}, KV heads {m.numKvHeads}</dd></div>
      <div className="fact"><dt>Vocabulary</dt><dd>{m.vocabSize.toLocaleString()}</dd></div>
      <div className="fact"><dt>Parameters</dt><dd>{fmtCount(m.parameters)} ({fmtCount(m.blockParameters)} per block)</dd></div>
      <div className="fact"><dt>Weights</dt><dd data-testid="weight-format">{formatLabel(m.weightFormat)}</dd></div>
      <div className="fact"><dt>GPU memory</dt><dd data-testid="gpu-memory">{fmtBytes(m.bytesOnGpu)}</dd></div>
      <div className="fact"><dt>Architecture</dt><dd data-testid="model-architecture">{m.architecture}</dd></div>
      {m.family && m.family !== 'llama' && (
        <div className="fact"><dt>Differs from LLaMA</dt><dd data-testid="model-family">{m.familyDifferences?.join('; ') || 'nothing it computes'}</dd></div>
      )}
      {m.fallbacks.length > 0 && <div className="fact"><dt>f32 fallbacks</dt><dd>{m.fallbacks.length} tensors (BF16 values beyond f16 range)</dd></div>}
      {quantized && (
        <p className="muted" data-testid="quantized-note">
          Quantized: every pass computes with the dequantized weights (code × group scale), so Taylor scores |W × dL/dW| of the
          dequantized W and LoRA trains on a quantized base; exported checkpoints keep the source dtype.
        </p>
      )}
    </dl>
  );
}

/** Which weight formats fit this adapter (the memory plan from config.json), with the recommended one marked; a row picks it. */
export function MemoryPlanTable({ plan, chosen, onChoose }: { plan: MemoryPlan; chosen: WeightFormat; onChoose: (f: WeightFormat) => void }) {
  return (
    <table className="memory-plan" data-testid="memory-plan">
      <caption>
        GPU memory by weight format (KV cache for {plan.context.toLocaleString()} tokens; budget {fmtBytes(plan.budgetBytes)})
        {plan.recommended ? `: ${formatLabel(plan.recommended)} recommended` : ': no format fits this adapter'}
      </caption>
      <thead>
        <tr><th>Format</th><th>Weights</th><th>KV cache</th><th>Workspaces</th><th>Peak</th><th>Fits</th></tr>
      </thead>
      <tbody>
        {plan.formats.map((f) => (
          <tr key={f.format} data-testid={`plan-${f.format}`}>
            <td>
              <label title={WEIGHT_FORMATS.find((w) => w.id === f.format)!.hint}>
                <input type="radio" name="weight-format" checked={chosen === f.format} disabled={!f.fits} onChange={() => onChoose(f.format)} />{' '}
                {formatLabel(f.format)}{plan.recommended === f.format ? ' (recommended)' : ''}
              </label>
            </td>
            <td>{fmtBytes(f.weights)}</td>
            <td>{fmtBytes(f.kvCache)}</td>
            <td title="largest of: batched forward, Taylor scoring, LoRA training">{fmtBytes(Math.max(f.activations, f.scoring, f.training))}</td>
            <td>{fmtBytes(f.peak)}</td>
            <td>{f.fits ? 'yes' : <span className="error-text">{f.reason}</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
