/**
 * The healing recipe and mask record (src/heal/recipe.ts): PEFT / transformers names of the run's
 * settings; the record makes a valid version 2 mask; tools/heal/train_cluster.py reads the recipe
 * the lab writes (tests/python/test_train_cluster.py, Python standard library only) and maps it onto
 * the same LoraConfig / TrainingArguments values.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { HealDataDescription } from '../../src/heal/data';
import { healingRecord, healRecipe } from '../../src/heal/recipe';
import { HEAL_DEFAULTS } from '../../src/heal/run';
import { buildMask, parseMask, serializeMask, withHealing } from '../../src/prune/mask';

const PYTHON = 'python3';
const dir = mkdtempSync(join(tmpdir(), 'heal-recipe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SHA = 'ab'.repeat(32);
const data: HealDataDescription = { name: 'alpaca.jsonl', format: 'jsonl-alpaca', train: 90, heldout: 10, dropped: 0, heldoutSource: '10 rows of alpaca.jsonl (seeded split)' };
const settings = { ...HEAL_DEFAULTS, lr: 2e-4, steps: 40, micro: 2, window: 128, evalEvery: 10 };

describe('healing recipe', () => {
  it('names the settings as LoraConfig and TrainingArguments', () => {
    const r = healRecipe(settings, data, SHA);
    expect(r.lora_config).toEqual({ r: 8, lora_alpha: 16, lora_dropout: 0.05, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'], bias: 'none', task_type: 'CAUSAL_LM' });
    expect(r.training_arguments).toMatchObject({
      learning_rate: 2e-4, warmup_steps: 5, lr_scheduler_type: 'linear', per_device_train_batch_size: 4, gradient_accumulation_steps: 2, max_steps: 40,
      optim: 'adamw_torch', adam_beta1: 0.9, adam_beta2: 0.999, adam_epsilon: 1e-8, weight_decay: 0, seed: 0,
      eval_strategy: 'steps', eval_steps: 10, save_steps: 10, load_best_model_at_end: true, metric_for_best_model: 'eval_loss',
    });
    expect(r.data).toMatchObject({ format: 'jsonl-alpaca', cutoff_len: 128, prompt_template: 'alpaca', train_on_inputs: false, val_set_size: 10, text_sha256: SHA });
    const text = healRecipe({ ...settings, evalEvery: 0 }, { ...data, format: 'text' }, SHA);
    expect(text.training_arguments).toMatchObject({ eval_strategy: 'no', eval_steps: null, load_best_model_at_end: false });
    expect(text.data.val_set_size).toBeNull();
  });

  it('the healing record makes a valid version 2 mask', () => {
    const mask = buildMask({
      model: { source: { kind: 'embedded', name: 'kjv-tiny-llama' }, architecture: 'LlamaForCausalLM', num_hidden_layers: 16, fingerprint: 'c'.repeat(64) },
      criterion: { name: 'manual', calibration: null, protected_blocks: [] },
      removed: [5, 8, 10],
    });
    const record = healingRecord(settings, { steps: 40, bestStep: 30, before: 60.5, after: 41.2 }, data, SHA);
    const healed = parseMask(serializeMask(withHealing(mask, record)));
    expect(healed.version).toBe(2);
    expect(healed.healing).toMatchObject({ steps: 40, best_step: 30, settings: { max_steps: 40, eval_steps: 10, gradient_accumulation_steps: 2, seq_len: 128 }, heldout: { before: 60.5, after: 41.2 } });
  });

  const hasPython = spawnSync(PYTHON, ['-c', 'pass']).status === 0;
  it.skipIf(!hasPython)('tools/heal/train_cluster.py reads the recipe: argument errors, mapping, data (stdlib only)', () => {
    const recipe = join(dir, 'heal-recipe.json');
    writeFileSync(recipe, JSON.stringify(healRecipe(settings, data, SHA), null, 2));
    const t = spawnSync(PYTHON, [join(process.cwd(), 'tests', 'python', 'test_train_cluster.py'), recipe], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    expect(t.status, t.stderr).toBe(0);
    const p = spawnSync(PYTHON, [join(process.cwd(), 'tools', 'heal', 'train_cluster.py'), '--print-args', '--recipe', recipe, '--model', 'm', '--data', 'd', '--output-dir', 'o', '--num-train-epochs', '2'], { encoding: 'utf8' });
    expect(p.status, p.stderr).toBe(0);
    const out = JSON.parse(p.stdout);
    expect(out.lora_config).toEqual(healRecipe(settings, data, SHA).lora_config);
    expect(out.training_arguments).toMatchObject({ learning_rate: 2e-4, max_steps: -1, num_train_epochs: 2, gradient_accumulation_steps: 2, eval_steps: 10, output_dir: 'o' });
  });
});
