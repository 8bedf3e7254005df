/**
 * The llama.cpp equivalent of a pruning plan, for GGUF users: llama-quantize drops the listed
 * blocks and renumbers the rest 0..L'-1 in order, as the lab's checkpoint export does.
 */
export function llamaCppPruneCommand(removed: readonly number[]): string {
  return `llama-quantize --prune-layers ${[...removed].sort((a, b) => a - b).join(',')} model.gguf model-pruned.gguf <type>`;
}

/** One line on what to put for <type>. */
export const LLAMA_CPP_TYPE_HINT = '<type>: the output type, e.g. F16 to keep an F16 source as is, or Q4_K_M to quantize too';
