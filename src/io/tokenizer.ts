/**
 * The checkpoint's tokenizer (tokenizer.json + tokenizer_config.json, read through the same
 * source as the weights, so the Hub host, token and cache settings apply). Built with
 * @huggingface/tokenizers, the pure-JS tokenizer library that @huggingface/transformers v4 uses
 * internally, so no ONNX Runtime is pulled into the app or the worker.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import type { ModelConfig } from './config';
import { CheckpointError } from './errors';
import type { CheckpointSource } from './source';

export interface EncodeOptions {
  /** Add BOS/EOS as the tokenizer's post-processor and tokenizer_config say (default true). */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop BOS/EOS/pad and other special tokens from the text (default true). */
  skipSpecialTokens?: boolean;
}

/** What the tokenizer checks against the model config (vocabSize: ids must index the embedding). */
export type TokenizerModelConfig = Pick<ModelConfig, 'bosTokenId' | 'eosTokenIds'> & Partial<Pick<ModelConfig, 'vocabSize'>>;

export class TextTokenizer {
  readonly bosId: number | null;
  readonly eosIds: number[];
  readonly vocabSize: number;
  readonly #tokenizer: Tokenizer;
  readonly #addBos: boolean;
  readonly #addEos: boolean;

  constructor(tokenizerJson: unknown, tokenizerConfig: Record<string, unknown> = {}, config?: TokenizerModelConfig) {
    if (!tokenizerJson || typeof tokenizerJson !== 'object' || !('model' in (tokenizerJson as object))) {
      throw new CheckpointError('tokenizer.json is not a Hugging Face tokenizers file (no "model")', 'invalid-tokenizer');
    }
    try {
      this.#tokenizer = new Tokenizer(tokenizerJson as object, tokenizerConfig);
    } catch (e) {
      throw new CheckpointError(`tokenizer.json could not be loaded: ${(e as Error).message}`, 'invalid-tokenizer');
    }
    const idOf = (token: unknown): number | null => {
      const text = typeof token === 'string' ? token : (token as { content?: unknown } | null)?.content;
      return typeof text === 'string' ? (this.#tokenizer.token_to_id(text) ?? null) : null;
    };
    this.bosId = idOf(tokenizerConfig.bos_token) ?? config?.bosTokenId ?? null;
    const eos = new Set<number>(config?.eosTokenIds ?? []);
    const eosFromTokenizer = idOf(tokenizerConfig.eos_token);
    if (eosFromTokenizer !== null) eos.add(eosFromTokenizer);
    this.eosIds = [...eos].sort((a, b) => a - b);
    this.#addBos = tokenizerConfig.add_bos_token === true;
    this.#addEos = tokenizerConfig.add_eos_token === true;
    const vocab = this.#tokenizer.get_vocab(true);
    this.vocabSize = vocab.size;
    if (config?.vocabSize !== undefined) {
      // Ids past the embedding rows would index beyond it: this tokenizer belongs to another model.
      // (Fewer tokens than vocab_size is normal: embeddings are often padded to a round number.)
      let maxId = -1;
      for (const id of vocab.values()) if (id > maxId) maxId = id;
      if (maxId >= config.vocabSize) {
        throw new CheckpointError(
          `tokenizer.json has token ids up to ${maxId} but config.json says vocab_size = ${config.vocabSize}: the tokenizer does not belong to these weights`,
          'tokenizer-mismatch',
        );
      }
    }
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const special = options.addSpecialTokens ?? true;
    const ids = [...this.#tokenizer.encode(text, { add_special_tokens: special }).ids];
    if (special && this.#addBos && this.bosId !== null && ids[0] !== this.bosId) ids.unshift(this.bosId);
    const eos = this.eosIds[0];
    if (special && this.#addEos && eos !== undefined && ids[ids.length - 1] !== eos) ids.push(eos);
    return ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (ids.length === 0) return '';
    return this.#tokenizer.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? true });
  }

  tokenToId(token: string): number | undefined {
    return this.#tokenizer.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.#tokenizer.id_to_token(id);
  }

  isEos(id: number): boolean {
    return this.eosIds.includes(id);
  }

  /** A detokenizer for generated ids fed one by one. */
  streamDecoder(options: DecodeOptions = {}): StreamDecoder {
    return new StreamDecoder((ids) => this.decode(ids, options));
  }
}

/**
 * Incremental detokenization: feed ids one at a time, get back only complete new text. Text is
 * decoded over a short window (prefix + new ids) and emitted as the difference, so
 * SentencePiece leading spaces come out right; while the window ends in U+FFFD (a UTF-8
 * character split over byte-level tokens) nothing is emitted until the bytes complete.
 */
export class StreamDecoder {
  private ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;
  private emitted = '';

  /** Longest wait for an incomplete character before emitting what there is. */
  static readonly MAX_PENDING = 8;

  constructor(private readonly decodeIds: (ids: number[]) => string) {}

  /** Adds one id; returns the new complete text (often ""). */
  push(id: number): string {
    this.ids.push(id);
    const prefix = this.decodeIds(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decodeIds(this.ids.slice(this.prefixOffset));
    const pending = this.ids.length - this.readOffset;
    if (full.length > prefix.length && (!full.endsWith('\uFFFD') || pending >= StreamDecoder.MAX_PENDING)) {
      const text = full.slice(prefix.length);
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      this.emitted += text;
      return text;
    }
    return '';
  }

  /** Emits whatever is still held back (call at the end of generation). */
  flush(): string {
    if (this.readOffset === this.ids.length) return '';
    const prefix = this.decodeIds(this.ids.slice(this.prefixOffset, this.readOffset));
    const full = this.decodeIds(this.ids.slice(this.prefixOffset));
    this.prefixOffset = this.readOffset = this.ids.length;
    const text = full.length > prefix.length ? full.slice(prefix.length) : '';
    this.emitted += text;
    return text;
  }

  /** All text emitted so far. */
  get text(): string {
    return this.emitted;
  }
}

/** Loads tokenizer.json (+ tokenizer_config.json when present) from `source`. */
export async function loadTokenizer(
  source: CheckpointSource,
  options: { config?: TokenizerModelConfig; signal?: AbortSignal } = {},
): Promise<TextTokenizer> {
  const tokenizerText = await source.readText('tokenizer.json', options.signal);
  let tokenizerJson: unknown;
  try {
    tokenizerJson = JSON.parse(tokenizerText);
  } catch (e) {
    throw new CheckpointError(`tokenizer.json is not valid JSON: ${(e as Error).message}`, 'invalid-tokenizer');
  }
  let tokenizerConfig: Record<string, unknown> = {};
  if (await source.exists('tokenizer_config.json', options.signal)) {
    try {
      tokenizerConfig = JSON.parse(await source.readText('tokenizer_config.json', options.signal)) as Record<string, unknown>;
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      throw new CheckpointError(`tokenizer_config.json is not valid JSON: ${(e as Error).message}`, 'invalid-tokenizer');
    }
  }
  return new TextTokenizer(tokenizerJson, tokenizerConfig, options.config);
}
