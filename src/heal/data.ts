/**
 * Healing data: token sequences with per-token loss targets.
 * - Plain text: the token stream cut into non-overlapping windows (every next token is a target).
 * - `.jsonl`: one object a line, `{"text": ...}` (a document, every token a target) or
 *   `{"instruction", "input"?, "output"}` in the Alpaca prompt template with the prompt's tokens
 *   masked out of the loss, as the seed's lora_retrain.py (alpaca-lora's finetune.py) with
 *   train_on_inputs False and add_eos_token False: the full text is tokenized (BOS first), cut at
 *   `cutoff` tokens, EOS appended when it fits; the first len(tokenize(prompt)) tokens are no target.
 * Batches are right-padded (pad id 0, no target) to a multiple of 8, as the seed's collator pads
 * (pad_to_multiple_of=8). The seed pads on the left with an attention mask; on the right a causal model
 * needs none and computes the same.
 */
import { evaluationWindows } from '../eval/perplexity';
import { mulberry32 } from '../util/random';

/** tloen/alpaca-lora templates/alpaca.json (the seed's `alpaca` template), verbatim. */
export const ALPACA_TEMPLATE = {
  promptInput: 'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n',
  promptNoInput: 'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n',
} as const;

export class HealDataError extends Error {
  override name = 'HealDataError';
}

export type HealRow = { text: string } | { instruction: string; input: string; output: string };

/** One training sequence; `targets[t]` = 0 where token t is not a loss target (absent: all are). */
export interface HealExample {
  ids: Uint32Array;
  targets?: Uint8Array;
}

/** The prompt of an Alpaca row (prompt_input with a non-empty input, else prompt_no_input). */
export function alpacaPrompt(instruction: string, input: string): string {
  const t = input ? ALPACA_TEMPLATE.promptInput : ALPACA_TEMPLATE.promptNoInput;
  // one pass, as str.format in alpaca-lora's Prompter: braces or "$&" in the data stay literal
  return t.replace(/\{(instruction|input)\}/g, (_, k: string) => (k === 'instruction' ? instruction : input));
}

/** Rows of a healing .jsonl file; a bad line is an error naming it. */
export function parseHealJsonl(name: string, content: string): HealRow[] {
  const rows: HealRow[] = [];
  content.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${name}: line ${i + 1}`;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new HealDataError(`${where} is not valid JSON`);
    }
    if (!row || typeof row !== 'object' || Array.isArray(row)) throw new HealDataError(`${where} is not a JSON object`);
    const r = row as Record<string, unknown>;
    const str = (k: string) => {
      if (typeof r[k] !== 'string') throw new HealDataError(`${where}: "${k}" must be a string, got ${JSON.stringify(r[k]) ?? 'nothing'}`);
      return r[k] as string;
    };
    if ('instruction' in r || 'output' in r) {
      rows.push({ instruction: str('instruction'), input: 'input' in r && r.input !== null ? str('input') : '', output: str('output') });
    } else if ('text' in r) {
      rows.push({ text: str('text') });
    } else {
      throw new HealDataError(`${where} has neither "text" nor "instruction" / "output"`);
    }
  });
  if (rows.length === 0) throw new HealDataError(`${name} has no rows`);
  return rows;
}

export interface HealTokenizer {
  encode(text: string): number[];
  readonly eosIds: readonly number[];
}

/**
 * Tokenized rows cut at `cutoff` tokens (EOS appended when it fits); rows left without a predictable
 * target (the prompt fills the cutoff) are dropped and counted.
 */
export function tokenizeRows(rows: readonly HealRow[], tok: HealTokenizer, cutoff: number): { examples: HealExample[]; dropped: number } {
  const eos = tok.eosIds[0];
  const examples: HealExample[] = [];
  let dropped = 0;
  for (const row of rows) {
    const prompt = 'text' in row ? '' : alpacaPrompt(row.instruction, row.input);
    const ids = tok.encode('text' in row ? row.text : prompt + row.output).slice(0, cutoff);
    if (eos !== undefined && ids.length < cutoff && ids.at(-1) !== eos) ids.push(eos);
    const promptLen = prompt ? Math.min(tok.encode(prompt).length, cutoff) : 0;
    // the first token is never a label (nothing predicts it)
    if (ids.length - Math.max(promptLen, 1) < 1) {
      dropped++;
      continue;
    }
    const targets = new Uint8Array(ids.length).fill(1);
    targets.fill(0, 0, promptLen);
    examples.push({ ids: Uint32Array.from(ids), ...(promptLen > 0 ? { targets } : {}) });
  }
  return { examples, dropped };
}

/** Non-overlapping windows of a token stream (remainder dropped), every token a target. */
export function textWindows(stream: ArrayLike<number>, window: number): HealExample[] {
  const out: HealExample[] = [];
  for (let at = 0; at + window <= stream.length; at += window) out.push({ ids: Uint32Array.from(Array.prototype.slice.call(stream, at, at + window) as number[]) });
  return out;
}

/** Seeded shuffle (mulberry32, Fisher-Yates) of a copy. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const rand = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Held-out rows by default: a tenth of the data, at most 200 (the seed holds out 2000 of 51.8k alpaca-cleaned rows). */
export const defaultHeldoutRows = (rows: number) => Math.min(200, Math.ceil(rows / 10));

/** Rows shuffled by the seed (as the seed's train_test_split(shuffle=True)), the last `heldout` held out. */
export function splitHeldout<T>(rows: readonly T[], heldout: number, seed: number): { train: T[]; heldout: T[] } {
  if (!(Number.isInteger(heldout) && heldout >= 1 && heldout < rows.length)) throw new HealDataError(`a held-out split of ${heldout} rows needs at least ${heldout + 1} rows; the data has ${rows.length}`);
  const order = shuffled(rows, seed ^ 0x5eed);
  return { train: order.slice(0, rows.length - heldout), heldout: order.slice(rows.length - heldout) };
}

/** N examples as one [N, T] batch: right-padded with id 0 (no target) to a multiple of 8, at most `maxT` when set. */
export function packBatch(examples: readonly HealExample[], maxT?: number): { ids: Uint32Array; targets: Uint8Array | undefined; N: number; T: number } {
  const longest = Math.max(...examples.map((e) => e.ids.length));
  const T = Math.max(longest, Math.min(Math.ceil(longest / 8) * 8, maxT ?? Infinity));
  const N = examples.length;
  const ids = new Uint32Array(N * T);
  const masked = examples.some((e) => e.targets || e.ids.length < T);
  const targets = masked ? new Uint8Array(N * T) : undefined;
  examples.forEach((e, i) => {
    if (e.ids.length > T) throw new RangeError(`packBatch: a sequence of ${e.ids.length} tokens exceeds T = ${T}`);
    ids.set(e.ids, i * T);
    if (targets) {
      if (e.targets) targets.set(e.targets, i * T);
      else targets.fill(1, i * T, i * T + e.ids.length);
    }
  });
  return { ids, targets, N, T };
}

export interface HealData {
  train: HealExample[];
  /** Evaluated before, during and after training (empty: no evaluation, the last adapter is kept). */
  heldout: HealExample[];
}

/** What the data was, for the log and the mask's healing record. */
export interface HealDataDescription {
  name: string;
  format: 'text' | 'jsonl-text' | 'jsonl-alpaca' | 'jsonl-mixed';
  /** Training sequences, held-out sequences, and .jsonl rows dropped (no target left within the cut). */
  train: number;
  heldout: number;
  dropped: number;
  /** Where the held-out set comes from: a split of the data, or a held-out text. */
  heldoutSource: string;
}

/**
 * The training and held-out sequences of a data file: `.jsonl` by name (rows split by the seed, the
 * held-out text not used), else plain text cut into windows with `heldoutText` (when given) as the
 * held-out set: its first `maxWindows` windows, BOS at the stream start only (the perplexity protocol).
 */
export function healData(
  source: { name: string; text: string },
  tok: HealTokenizer & { readonly bosId: number | null },
  s: { window: number; seed: number; heldoutRows?: number },
  heldoutText?: { name: string; text: string; maxWindows: number },
): { data: HealData; description: HealDataDescription } {
  if (/\.jsonl$/i.test(source.name)) {
    const rows = parseHealJsonl(source.name, source.text);
    const split = splitHeldout(rows, s.heldoutRows ?? defaultHeldoutRows(rows.length), s.seed);
    const train = tokenizeRows(split.train, tok, s.window);
    const heldout = tokenizeRows(split.heldout, tok, s.window);
    if (train.examples.length === 0) throw new HealDataError(`${source.name}: no training row keeps a target token within ${s.window} tokens (the prompts fill the cut); raise the window`);
    const alpaca = rows.filter((r) => !('text' in r)).length;
    return {
      data: { train: train.examples, heldout: heldout.examples },
      description: {
        name: source.name, format: alpaca === 0 ? 'jsonl-text' : alpaca === rows.length ? 'jsonl-alpaca' : 'jsonl-mixed',
        train: train.examples.length, heldout: heldout.examples.length, dropped: train.dropped + heldout.dropped,
        heldoutSource: `${split.heldout.length} rows of ${source.name} (seeded split)`,
      },
    };
  }
  const train = textWindows(tok.encode(source.text), s.window);
  const heldout = heldoutText && heldoutText.maxWindows > 0
    ? evaluationWindows(tok.encode(heldoutText.text), tok.bosId ?? 1, { window: s.window, bos: 'first', maxWindows: heldoutText.maxWindows }).map((ids) => ({ ids }))
    : [];
  return {
    data: { train, heldout },
    description: { name: source.name, format: 'text', train: train.length, heldout: heldout.length, dropped: 0, heldoutSource: heldoutText ? `the first ${heldout.length} windows of ${heldoutText.name}` : 'none' },
  };
}
