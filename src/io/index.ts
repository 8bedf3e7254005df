/**
 * Checkpoint I/O for the engine (browser and Node). Node-only: ./node-source (NodeFolderSource).
 */
export * from './errors';
export { parseConfig, expectedTensors, type ModelConfig, type Llama3RopeScaling, type TensorSpec, type Architecture } from './config';
export type { CheckpointSource } from './source';
export { HttpSource, embeddedSource, hubSource, DEFAULT_HUB_HOST, type HubOptions } from './http-source';
export { FilesSource, filesFromDrop, type PathedFile } from './file-source';
export { openSource, describeSource, type SourceSpec, type SourceRecord, type OpenOptions } from './open';
export { cachedSource, checkpointCacheUsage, clearCheckpointCache, type CacheOptions } from './cache';
export {
  parseHeaderLength,
  parseSafetensorsHeader,
  readSafetensorsHeader,
  encodeSafetensors,
  safetensorsPrefix,
  type SafetensorsDType,
  type SafetensorsHeader,
  type TensorEntry,
} from './safetensors';
export { inspectCheckpoint, type CheckpointIndex, type PlannedTensor } from './checkpoint';
export {
  loadCheckpoint,
  estimateGpuMemory,
  checkGpuMemory,
  outputWeight,
  type LoadOptions,
  type LoadProgress,
  type LoadedCheckpoint,
  type MemoryEstimate,
  type StorageFallback,
} from './load';
export { layoutFingerprint, contentFingerprint, canonicalJson, sha256Hex } from './fingerprint';
export { TextTokenizer, StreamDecoder, loadTokenizer, type EncodeOptions, type DecodeOptions } from './tokenizer';
