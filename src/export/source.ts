/**
 * An ExportSource over any checkpoint the engine can load (embedded, Hub, local files, Node
 * folder): built from src/io's CheckpointIndex, so the export reads exactly the files and byte
 * spans the loader validated, streamed piece by piece through the source.
 */
import type { CheckpointIndex } from '../io/checkpoint';
import { isCopiedFile, type ExportSource } from './checkpoint';

/** Files probed when a source cannot list its files (the Hub without a listing, plain URLs). */
export const KNOWN_EXTRA_FILES = [
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'tokenizer.model',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'chat_template.jinja',
  'chat_template.json',
];

export async function exportSourceFromIndex(index: CheckpointIndex, signal?: AbortSignal): Promise<ExportSource> {
  const { source } = index;
  const listed = source.list ? await source.list(signal) : null;
  const files: string[] = [];
  if (listed) {
    files.push(...listed.filter(isCopiedFile));
  } else {
    for (const name of KNOWN_EXTRA_FILES) if (await source.exists(name, signal)) files.push(name);
  }
  return {
    tensors: [...index.all.values()].map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.end - t.begin })),
    chunks(name, s) {
      const t = index.all.get(name);
      if (!t) throw new Error(`no tensor "${name}" in ${source.name}`);
      return source.stream(t.file, t.begin, t.end, s ?? signal);
    },
    readConfig: (s) => source.readText('config.json', s ?? signal),
    files,
    readFile: async (name, s) => source.readRange(name, 0, await source.size(name, s ?? signal), s ?? signal),
  };
}
