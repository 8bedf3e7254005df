/** The PEFT adapter folder (src/heal/peft.ts): config fields, PEFT tensor names renumbered as the pruned checkpoint, shapes and bytes. */
import { describe, expect, it } from 'vitest';
import { peftAdapterFolder } from '../../src/heal/peft';
import { parseHeaderLength, parseSafetensorsHeader } from '../../src/io/safetensors';

describe('PEFT adapter folder', () => {
  const r = 2;
  const adapters = [
    { block: 2, name: 'q' as const, A: Float32Array.from({ length: r * 3 }, (_, i) => i + 0.5), B: Float32Array.from({ length: 5 * r }, (_, i) => -i) },
    { block: 5, name: 'down' as const, A: Float32Array.from({ length: r * 4 }, (_, i) => i / 7), B: Float32Array.from({ length: 3 * r }, (_, i) => i * 3) },
  ];
  const folder = peftAdapterFolder(adapters, { plan: [0, 2, 5], r, alpha: 16, dropout: 0.05, baseModel: 'pruned-model' });

  it('adapter_config.json carries LoraConfig fields', () => {
    const c = JSON.parse(folder['adapter_config.json']);
    expect(c).toMatchObject({
      peft_type: 'LORA', task_type: 'CAUSAL_LM', r, lora_alpha: 16, lora_dropout: 0.05, bias: 'none',
      target_modules: ['q_proj', 'down_proj'], base_model_name_or_path: 'pruned-model',
    });
  });

  it('tensors have PEFT names with blocks numbered as in the pruned checkpoint, [r, in] / [out, r], exact f32 bytes', () => {
    const file = folder['adapter_model.safetensors'];
    const n = parseHeaderLength('a', file.byteLength, file.subarray(0, 8));
    const h = parseSafetensorsHeader('a', file.byteLength, n, file.subarray(8, 8 + n));
    const byName = new Map(h.tensors.map((t) => [t.name, t]));
    const expected: [string, number[], Float32Array][] = [
      ['base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight', [r, 3], adapters[0]!.A],
      ['base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight', [5, r], adapters[0]!.B],
      ['base_model.model.model.layers.2.mlp.down_proj.lora_A.weight', [r, 4], adapters[1]!.A],
      ['base_model.model.model.layers.2.mlp.down_proj.lora_B.weight', [3, r], adapters[1]!.B],
    ];
    expect([...byName.keys()].sort()).toEqual(expected.map((e) => e[0]).sort());
    for (const [name, shape, data] of expected) {
      const t = byName.get(name)!;
      expect(t.dtype).toBe('F32');
      expect(t.shape).toEqual(shape);
      const bytes = file.slice(t.begin, t.end);
      expect(Array.from(new Float32Array(bytes.buffer))).toEqual(Array.from(data));
    }
  });

  it('refuses an adapter on a block outside the plan', () => {
    expect(() => peftAdapterFolder(adapters, { plan: [0, 2], r, alpha: 16, dropout: 0, baseModel: 'x' })).toThrow(/block 5 is not in the plan/);
  });
});
