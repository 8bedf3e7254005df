import { fmtBytes, fmtCount } from './format';
import { useLab } from './store';

/** The loaded model's shape and its memory on the GPU. */
export function ModelFacts() {
  const m = useLab((s) => s.model);
  if (!m) return <p className="muted" data-testid="no-model">No model loaded yet.</p>;
  const src = m.source.kind === 'hub' ? `${m.source.id}@${m.source.revision}` : `${m.source.name} (${m.source.kind})`;
  return (
    <dl className="facts model-facts" data-testid="model-facts">
      <div className="fact"><dt>Loaded</dt><dd data-testid="model-name">{src}</dd></div>
      <div className="fact"><dt>Blocks</dt><dd data-testid="model-blocks">{m.numLayers}</dd></div>
      <div className="fact"><dt>Width</dt><dd>{m.hiddenSize} (MLP {m.intermediateSize})</dd></div>
      <div className="fact"><dt>Heads</dt><dd>{m.numHeads} × {m.headDim}, KV heads {m.numKvHeads}</dd></div>
      <div className="fact"><dt>Vocabulary</dt><dd>{m.vocabSize.toLocaleString()}</dd></div>
      <div className="fact"><dt>Parameters</dt><dd>{fmtCount(m.parameters)} ({fmtCount(m.blockParameters)} per block)</dd></div>
      <div className="fact"><dt>GPU memory</dt><dd data-testid="gpu-memory">{fmtBytes(m.bytesOnGpu)}</dd></div>
      <div className="fact"><dt>Architecture</dt><dd data-testid="model-architecture">{m.architecture}</dd></div>
      {m.family && m.family !== 'llama' && (
        <div className="fact"><dt>Differs from LLaMA</dt><dd data-testid="model-family">{m.familyDifferences?.join('; ') || 'nothing it computes'}</dd></div>
      )}
      {m.fallbacks.length > 0 && <div className="fact"><dt>f32 fallbacks</dt><dd>{m.fallbacks.length} tensors (BF16 values beyond f16 range)</dd></div>}
    </dl>
  );
}
