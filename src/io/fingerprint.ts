/**
 * Checkpoint fingerprints: SHA-256 (crypto.subtle, in browsers and Node 20) over canonical JSON.
 * - layoutFingerprint: the normalized config + the sorted tensor index (name, dtype, shape,
 *   byte size). Known from the headers alone, before any download: keys caches and plans.
 * - fingerprint (LoadedCheckpoint.fingerprint): the layout plus a digest of the first bytes of
 *   every loaded tensor, gathered while streaming: two fine-tunes of one base model share a
 *   layout but not a fingerprint, so a pruning mask stays tied to the weights it was made on.
 */
import type { ModelConfig } from './config';
import type { TensorEntry } from './safetensors';

/** JSON with object keys sorted at every level (stable across key order and whitespace). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function layoutDocument(config: ModelConfig, tensors: Pick<TensorEntry, 'name' | 'dtype' | 'shape' | 'begin' | 'end'>[]) {
  const index = [...tensors]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((t) => [t.name, t.dtype, t.shape, t.end - t.begin]);
  return { version: 1, config: fingerprintedConfig(config), tensors: index };
}

/**
 * The config as the fingerprint sees it: a model that computes as LLaMA (LLaMA, Mistral without a
 * window) keeps the fingerprint it had before families existed; others carry their traits.
 */
function fingerprintedConfig(config: ModelConfig): Partial<ModelConfig> {
  const { family, projectionBias, qkNorm, normOffset, activation, windows, embedScale, ...llama } = config;
  const asLlama = (family === 'llama' || family === 'mistral') && projectionBias.length === 0 && !qkNorm && normOffset === 0 &&
    activation === 'silu' && windows.every((w) => w === null) && embedScale === null;
  return asLlama ? llama : config;
}

export async function layoutFingerprint(
  config: ModelConfig,
  tensors: Pick<TensorEntry, 'name' | 'dtype' | 'shape' | 'begin' | 'end'>[],
): Promise<string> {
  return sha256Hex(canonicalJson(layoutDocument(config, tensors)));
}

/** Bytes per tensor that enter the content part of the fingerprint. */
export const SAMPLE_BYTES = 64;

/** Layout + sampled weight bytes ({name: hex of the tensor's first SAMPLE_BYTES bytes}). */
export async function contentFingerprint(layout: string, samples: Map<string, Uint8Array>): Promise<string> {
  const sampled = [...samples.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, bytes]) => [name, [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')]);
  return sha256Hex(canonicalJson({ version: 1, layout, samples: sampled }));
}
