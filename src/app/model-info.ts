/** What the page and the CLI show of a loaded model (plain data, see protocol.ts' ModelInfo). */
import { elementCount } from '../gpu/tensor';
import { familyDifferences } from '../io/families';
import { describeSource } from '../io/open';
import type { LoadedCheckpoint } from '../io/load';
import type { TextTokenizer } from '../io/tokenizer';
import type { LlamaModel } from '../model/model';
import { blockTensors } from '../model/weights';
import type { ModelInfo, ModelSourceSpec } from './protocol';

export function modelInfo(spec: ModelSourceSpec, ckpt: LoadedCheckpoint, model: LlamaModel, tokenizer: TextTokenizer): ModelInfo {
  const c = ckpt.config;
  let parameters = 0;
  for (const t of ckpt.tensors.values()) parameters += elementCount(t.shape);
  const blockParameters = blockTensors(model.weights.blocks[0]!).reduce((s, t) => s + elementCount(t.shape), 0);
  const source = spec.kind === 'folder' ? { kind: 'local' as const, name: baseName(spec.path) } : describeSource(spec);
  return {
    name: source.kind === 'hub' ? source.id : source.name,
    source,
    architecture: c.architecture,
    family: c.family,
    familyDifferences: familyDifferences(c),
    numLayers: c.numLayers,
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    numHeads: c.numHeads,
    numKvHeads: c.numKvHeads,
    headDim: c.headDim,
    vocabSize: c.vocabSize,
    maxPositionEmbeddings: c.maxPositionEmbeddings,
    parameters,
    blockParameters,
    bytesOnGpu: ckpt.bytesOnGpu,
    fingerprint: ckpt.fingerprint,
    fallbacks: ckpt.fallbacks.map((f) => f.tensor),
    bosId: tokenizer.bosId,
    eosIds: tokenizer.eosIds,
  };
}

function baseName(path: string): string {
  return path.replace(/[\\/]+$/, '').split(/[\\/]/).pop() || 'model';
}
