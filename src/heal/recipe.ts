/**
 * A healing run's settings under the names PEFT's LoraConfig and transformers' TrainingArguments
 * use: the recipe (heal-recipe.json) that tools/heal/train_cluster.py runs on a GPU cluster, and
 * the healing record of the pruning mask (version 2).
 */
import type { MaskHealing } from '../prune/mask';
import type { HealDataDescription } from './data';
import { LORA_TARGETS } from './lora';
import { PEFT_MODULES } from './peft';
import { DEFAULT_EVAL_EVERY, type HealSettings } from './run';
import { ADAMW_DEFAULTS } from './train';

export const RECIPE_FORMAT = 'depth-pruning-lab/heal-recipe';
export const RECIPE_VERSION = 1;

/** PEFT's module names of the lab's targets (q_proj ... down_proj). */
export const TARGET_MODULES = LORA_TARGETS.map((t) => PEFT_MODULES[t].split('.')[1]!);

export interface HealRecipe {
  format: typeof RECIPE_FORMAT;
  version: typeof RECIPE_VERSION;
  /** peft.LoraConfig(**lora_config). */
  lora_config: { r: number; lora_alpha: number; lora_dropout: number; target_modules: string[]; bias: 'none'; task_type: 'CAUSAL_LM' };
  /** transformers.TrainingArguments(**training_arguments) (plus output_dir). */
  training_arguments: {
    learning_rate: number;
    warmup_steps: number;
    lr_scheduler_type: 'linear';
    per_device_train_batch_size: number;
    gradient_accumulation_steps: number;
    max_steps: number;
    optim: 'adamw_torch';
    adam_beta1: number;
    adam_beta2: number;
    adam_epsilon: number;
    weight_decay: number;
    seed: number;
    eval_strategy: 'steps' | 'no';
    eval_steps: number | null;
    save_strategy: 'steps' | 'no';
    save_steps: number | null;
    load_best_model_at_end: boolean;
    metric_for_best_model: 'eval_loss' | null;
    logging_steps: number;
  };
  /** How the data becomes sequences (src/heal/data.ts), for the script to do the same. */
  data: {
    description: string;
    text_sha256: string;
    format: HealDataDescription['format'];
    /** Tokens per sequence: text windows, the cut of .jsonl rows (alpaca-lora's cutoff_len). */
    cutoff_len: number;
    prompt_template: 'alpaca';
    train_on_inputs: false;
    add_eos_token: false;
    /** .jsonl rows held out (train_test_split test_size), or null for plain text (held-out text of its own). */
    val_set_size: number | null;
  };
}

const evalSteps = (s: HealSettings) => s.evalEvery ?? DEFAULT_EVAL_EVERY(s.steps);

export function healRecipe(s: HealSettings, data: HealDataDescription, textSha256: string): HealRecipe {
  const every = evalSteps(s);
  const evaluates = every > 0 && data.heldout > 0;
  return {
    format: RECIPE_FORMAT,
    version: RECIPE_VERSION,
    lora_config: { r: s.r, lora_alpha: s.alpha, lora_dropout: s.dropout, target_modules: [...TARGET_MODULES], bias: 'none', task_type: 'CAUSAL_LM' },
    training_arguments: {
      learning_rate: s.lr,
      warmup_steps: s.warmupSteps,
      lr_scheduler_type: 'linear',
      per_device_train_batch_size: s.batch,
      gradient_accumulation_steps: s.micro,
      max_steps: s.steps,
      optim: 'adamw_torch',
      adam_beta1: ADAMW_DEFAULTS.beta1,
      adam_beta2: ADAMW_DEFAULTS.beta2,
      adam_epsilon: ADAMW_DEFAULTS.eps,
      weight_decay: ADAMW_DEFAULTS.weightDecay,
      seed: s.seed,
      eval_strategy: evaluates ? 'steps' : 'no',
      eval_steps: evaluates ? every : null,
      // the best adapter needs a checkpoint at every evaluation (load_best_model_at_end)
      save_strategy: evaluates ? 'steps' : 'no',
      save_steps: evaluates ? every : null,
      load_best_model_at_end: evaluates,
      metric_for_best_model: evaluates ? 'eval_loss' : null,
      logging_steps: 1,
    },
    data: {
      description: data.name,
      text_sha256: textSha256,
      format: data.format,
      cutoff_len: s.window,
      prompt_template: 'alpaca',
      train_on_inputs: false,
      add_eos_token: false,
      val_set_size: data.format === 'text' ? null : data.heldout,
    },
  };
}

/** The mask's healing record of a finished run. */
export function healingRecord(
  s: HealSettings,
  run: { steps: number; bestStep: number; before: number | null; after: number | null },
  data: HealDataDescription,
  textSha256: string,
): MaskHealing {
  return {
    method: 'lora',
    settings: {
      r: s.r, lora_alpha: s.alpha, lora_dropout: s.dropout, target_modules: [...TARGET_MODULES],
      learning_rate: s.lr, warmup_steps: s.warmupSteps, max_steps: s.steps, per_device_train_batch_size: s.batch,
      gradient_accumulation_steps: s.micro, seq_len: s.window, seed: s.seed, eval_steps: evalSteps(s),
    },
    steps: run.steps,
    best_step: run.bestStep,
    data: { description: data.name, text_sha256: textSha256, format: data.format, train_sequences: data.train, heldout_sequences: data.heldout },
    heldout: { description: data.heldoutSource, before: run.before, after: run.after },
  };
}
