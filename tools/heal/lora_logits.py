#!/usr/bin/python3
"""The PyTorch side of a healed model: a (pruned) HF checkpoint folder of any family the lab loads
(LLaMA, Mistral, Qwen2, Qwen3, Gemma) plus a PEFT LoRA adapter folder (adapter_config.json, adapter_model.safetensors, as the lab writes them), merged
W + (lora_alpha / r) B A in float64, and the logits for the given token ids printed as JSON
({"logits": [[...V] per position]}). Plain torch; peft loads the same folder with
PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(checkpoint), adapter).
usage: /usr/bin/python3 tools/heal/lora_logits.py CHECKPOINT ADAPTER ID [ID ...]
"""
import json, os, re, sys
import torch
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tiny-llama'))
# After tiny-llama: both folders have a make_fixtures.py, and LLaMA's ref_forward is tiny-llama's.
sys.path.append(os.path.join(HERE, '..', 'families'))
import st  # noqa: E402
from make_fixtures import ref_forward  # noqa: E402  (LLaMA, with llama3 RoPE scaling)
from reference import forward as family_forward, spec_from_config  # noqa: E402  (the other families)

NAME = re.compile(r'^base_model\.model\.(model\.layers\.\d+\..+)\.lora_([AB])\.weight$')


def merged_weights(checkpoint, adapter):
    W = {k: torch.from_numpy(v).double() for k, v in st.load(os.path.join(checkpoint, 'model.safetensors')).items()}
    cfg = json.load(open(os.path.join(adapter, 'adapter_config.json')))
    if cfg.get('peft_type') != 'LORA':
        raise SystemExit(f'{adapter}: not a LoRA adapter (peft_type {cfg.get("peft_type")})')
    scale = cfg['lora_alpha'] / cfg['r']
    pairs = {}
    for name, value in st.load(os.path.join(adapter, 'adapter_model.safetensors')).items():
        m = NAME.match(name)
        if not m:
            raise SystemExit(f'{adapter}: unexpected tensor {name}')
        pairs.setdefault(m.group(1), {})[m.group(2)] = torch.from_numpy(value).double()
    for module, ab in pairs.items():
        key = module + '.weight'
        if key not in W or set(ab) != {'A', 'B'}:
            raise SystemExit(f'{adapter}: {module} has no base weight or lacks lora_A / lora_B')
        W[key] = W[key] + scale * ab['B'] @ ab['A']
    return W


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    checkpoint, adapter, ids = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3:]]
    cfg = json.load(open(os.path.join(checkpoint, 'config.json')))
    W = merged_weights(checkpoint, adapter)
    ids = torch.tensor([ids])
    llama = 'LlamaForCausalLM' in (cfg.get('architectures') or ['LlamaForCausalLM'])
    logits = (ref_forward(W, cfg, ids) if llama else family_forward(W, spec_from_config(cfg), ids))[0]
    json.dump({'logits': logits.tolist()}, sys.stdout)


if __name__ == '__main__':
    main()
