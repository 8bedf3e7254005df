/**
 * A PEFT LoRA adapter folder for the pruned checkpoint: adapter_config.json (LoraConfig's fields) and
 * adapter_model.safetensors with PEFT's tensor names, blocks numbered as in the pruned checkpoint
 * (kept blocks renumbered 0..L'-1, src/export/checkpoint.ts), so
 * `PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(pruned), folder)` loads it.
 */
import { encodeSafetensors, parseHeaderLength, parseSafetensorsHeader } from '../io/safetensors';
import type { LinearName } from '../model/backward';
import type { BlockPlan } from '../model/plan';

/** PEFT's module path of each linear (LlamaForCausalLM). */
export const PEFT_MODULES: Record<LinearName, string> = {
  q: 'self_attn.q_proj', k: 'self_attn.k_proj', v: 'self_attn.v_proj', o: 'self_attn.o_proj',
  gate: 'mlp.gate_proj', up: 'mlp.up_proj', down: 'mlp.down_proj',
};

export interface AdapterValues {
  /** Original block index. */
  block: number;
  name: LinearName;
  /** A [r, in] and B [out, r], row-major f32. */
  A: Float32Array;
  B: Float32Array;
}

export interface PeftAdapterFolder {
  'adapter_config.json': string;
  'adapter_model.safetensors': Uint8Array;
}

export function peftAdapterFolder(
  adapters: readonly AdapterValues[],
  o: { plan: BlockPlan; r: number; alpha: number; dropout: number; baseModel: string },
): PeftAdapterFolder {
  const renumber = new Map(o.plan.map((b, j) => [b, j]));
  const targets = [...new Set(adapters.map((a) => a.name))];
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: o.baseModel,
    r: o.r,
    lora_alpha: o.alpha,
    lora_dropout: o.dropout,
    target_modules: targets.map((t) => PEFT_MODULES[t].split('.')[1]!),
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
  };
  const tensors = adapters.flatMap((a) => {
    const j = renumber.get(a.block);
    if (j === undefined) throw new Error(`PEFT export: block ${a.block} is not in the plan`);
    const prefix = `base_model.model.model.layers.${j}.${PEFT_MODULES[a.name]}`;
    const t = (suffix: string, data: Float32Array, shape: number[]) => {
      if (data.length !== shape[0]! * shape[1]!) throw new RangeError(`PEFT export: ${prefix}.${suffix} has ${data.length} values, shape [${shape}]`);
      return { name: `${prefix}.${suffix}`, dtype: 'F32' as const, shape, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
    };
    const inF = a.A.length / o.r;
    const outF = a.B.length / o.r;
    return [t('lora_A.weight', a.A, [o.r, inF]), t('lora_B.weight', a.B, [outF, o.r])];
  });
  return {
    'adapter_config.json': `${JSON.stringify(config, null, 2)}\n`,
    'adapter_model.safetensors': encodeSafetensors(tensors, { format: 'pt' }),
  };
}

const PEFT_NAME = /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.lora_([AB])\.weight$/;

/**
 * Reads a PEFT LoRA folder (as peftAdapterFolder writes it) back into adapters numbered as the
 * source model: PEFT layer j is block plan[j]. Refuses other adapter types, missing halves and
 * tensors that are not F32.
 */
export function parsePeftAdapter(configText: string, safetensors: Uint8Array, plan: BlockPlan): { r: number; alpha: number; adapters: AdapterValues[] } {
  const config = JSON.parse(configText) as { peft_type?: string; r?: number; lora_alpha?: number };
  if (config.peft_type !== 'LORA') throw new Error(`not a LoRA adapter (peft_type ${String(config.peft_type)})`);
  const { r, lora_alpha: alpha } = config;
  if (!Number.isInteger(r) || r! < 1 || typeof alpha !== 'number') throw new Error(`adapter_config.json: r ${String(r)} / lora_alpha ${String(alpha)} are not a LoRA rank and scale`);
  const n = parseHeaderLength('adapter_model.safetensors', safetensors.byteLength, safetensors.subarray(0, 8));
  const header = parseSafetensorsHeader('adapter_model.safetensors', safetensors.byteLength, n, safetensors.subarray(8, 8 + n));
  const moduleOf = new Map(Object.entries(PEFT_MODULES).map(([k, v]) => [v, k as LinearName]));
  const pairs = new Map<string, { block: number; name: LinearName; A?: Float32Array; B?: Float32Array }>();
  for (const t of header.tensors) {
    const m = PEFT_NAME.exec(t.name);
    const name = m ? moduleOf.get(`${m[2]}.${m[3]}`) : undefined;
    if (!m || !name) throw new Error(`adapter_model.safetensors: unexpected tensor ${t.name}`);
    const block = plan[Number(m[1])];
    if (block === undefined) throw new Error(`adapter_model.safetensors: ${t.name} is past the plan's ${plan.length} blocks`);
    if (t.dtype !== 'F32') throw new Error(`adapter_model.safetensors: ${t.name} is ${t.dtype}, expected F32`);
    const key = `${block}.${name}`;
    const pair = pairs.get(key) ?? { block, name };
    pair[m[4] as 'A' | 'B'] = new Float32Array(safetensors.slice(t.begin, t.end).buffer);
    pairs.set(key, pair);
  }
  const adapters = [...pairs.values()].map((p) => {
    if (!p.A || !p.B) throw new Error(`adapter_model.safetensors: block ${p.block} ${p.name} lacks lora_${p.A ? 'B' : 'A'}`);
    return { block: p.block, name: p.name, A: p.A, B: p.B };
  });
  return { r: r!, alpha, adapters };
}
