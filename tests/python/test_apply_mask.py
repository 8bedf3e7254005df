"""tools/apply_mask.py: the pruned folder is a loadable model whose logits equal the in-memory cut
(LLaMA, and the families of tests/fixtures/families: biases and q/k norms move with their block).

Run: /usr/bin/python3 tests/python/test_apply_mask.py   (spawned by tests/unit/export-python.test.ts)
The torch part is skipped where torch is missing (the CI machine has only python3); the stdlib
part always runs.
"""
import json
import math
import os
import struct
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import apply_mask as am  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = None

TINY = os.path.join(ROOT, "public", "models", "kjv-tiny-llama")
FAMILIES = os.path.join(ROOT, "tests", "fixtures", "families")


def mask_json(L, removed, arch="LlamaForCausalLM", fingerprint="e" * 64):
    kept = [b for b in range(L) if b not in removed]
    return {
        "format": "depth-pruning-lab/mask", "version": 1,
        "model": {"source": {"kind": "local", "name": "test"}, "architecture": arch, "num_hidden_layers": L,
                  "fingerprint": fingerprint},
        "criterion": {"name": "manual", "calibration": None, "protected_blocks": []},
        "scores": {}, "ranking": [], "removed": sorted(removed), "kept": kept,
        "result": {"num_hidden_layers": len(kept)}, "lab_version": "0.1.0", "created_at": "2026-11-29T19:00:00Z",
    }


def load_folder(folder):
    """{name: torch tensor (float32)} from a folder's safetensors files."""
    names = sorted(os.listdir(folder))
    out = {}
    for fn in am.weight_files(folder, names):
        for t in am.read_header(os.path.join(folder, fn)):
            with open(t["file"], "rb") as f:
                f.seek(t["begin"])
                raw = bytearray(f.read(t["byte_length"]))
            if t["dtype"] == "F32":
                x = torch.frombuffer(raw, dtype=torch.float32)
            elif t["dtype"] == "F16":
                x = torch.frombuffer(raw, dtype=torch.float16).float()
            elif t["dtype"] == "BF16":
                x = torch.frombuffer(raw, dtype=torch.bfloat16).float()
            else:
                raise ValueError(t["dtype"])
            out[t["name"]] = x.reshape(t["shape"])
    return out


def expected_names(c):
    names = {"model.embed_tokens.weight", "model.norm.weight"}
    if not c.get("tie_word_embeddings"):
        names.add("lm_head.weight")
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        names |= {p + s for s in ["input_layernorm.weight", "post_attention_layernorm.weight",
                                  "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                                  "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
                                  "mlp.down_proj.weight"]}
    return names


def llama_logits(sd, c, ids, skip=()):
    """HF LLaMA semantics (RMSNorm, RoPE rotate_half, GQA, SwiGLU), float64, no KV cache."""
    sd = {k: v.double() for k, v in sd.items()}
    D, H, KV = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
    hd = c.get("head_dim") or D // H
    eps, T = c["rms_norm_eps"], ids.shape[0]

    def rms(x, w):
        return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    inv = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    f = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    cos, sin = torch.cat([f, f], -1).cos(), torch.cat([f, f], -1).sin()

    def rope(x):
        h = x.shape[-1] // 2
        return x * cos + torch.cat([-x[..., h:], x[..., :h]], -1) * sin

    x = sd["model.embed_tokens.weight"][ids]
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for i in range(c["num_hidden_layers"]):
        if i in skip:
            continue
        p = f"model.layers.{i}."
        h = rms(x, sd[p + "input_layernorm.weight"])
        q = (h @ sd[p + "self_attn.q_proj.weight"].T).view(T, H, hd).transpose(0, 1)
        k = (h @ sd[p + "self_attn.k_proj.weight"].T).view(T, KV, hd).transpose(0, 1)
        v = (h @ sd[p + "self_attn.v_proj.weight"].T).view(T, KV, hd).transpose(0, 1)
        q, k = rope(q), rope(k)
        k, v = k.repeat_interleave(H // KV, 0), v.repeat_interleave(H // KV, 0)
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, -1)
        x = x + (a @ v).transpose(0, 1).reshape(T, H * hd) @ sd[p + "self_attn.o_proj.weight"].T
        h = rms(x, sd[p + "post_attention_layernorm.weight"])
        x = x + (F.silu(h @ sd[p + "mlp.gate_proj.weight"].T) * (h @ sd[p + "mlp.up_proj.weight"].T)) @ sd[p + "mlp.down_proj.weight"].T
    head = sd["model.embed_tokens.weight"] if c.get("tie_word_embeddings") else sd["lm_head.weight"]
    return rms(x, sd["model.norm.weight"]) @ head.T


def write_checkpoint(folder, c, tensors):
    """tensors: list of (name, shape, list-of-floats) written as one F32 safetensors file."""
    entries = [{"name": n, "dtype": "F32", "shape": s, "byte_length": 4 * len(v)} for n, s, v in tensors]
    with open(os.path.join(folder, "model.safetensors"), "wb") as f:
        f.write(am.safetensors_prefix(entries))
        for _, _, v in tensors:
            f.write(struct.pack(f"<{len(v)}f", *v))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        f.write("{}")


def synthetic(L=6, D=16, I=24, V=32, H=4, KV=2, tied=False, seed=3):
    import random
    rnd = random.Random(seed)
    c = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": D, "intermediate_size": I,
         "num_hidden_layers": L, "num_attention_heads": H, "num_key_value_heads": KV, "rms_norm_eps": 1e-5,
         "rope_theta": 10000.0, "vocab_size": V, "tie_word_embeddings": tied, "torch_dtype": "float32"}
    hd = D // H
    shapes = {"model.embed_tokens.weight": [V, D], "model.norm.weight": [D]}
    if not tied:
        shapes["lm_head.weight"] = [V, D]
    for i in range(L):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": [D], p + "post_attention_layernorm.weight": [D],
                       p + "self_attn.q_proj.weight": [H * hd, D], p + "self_attn.k_proj.weight": [KV * hd, D],
                       p + "self_attn.v_proj.weight": [KV * hd, D], p + "self_attn.o_proj.weight": [D, H * hd],
                       p + "mlp.gate_proj.weight": [I, D], p + "mlp.up_proj.weight": [I, D],
                       p + "mlp.down_proj.weight": [D, I]})
    tensors = []
    for name, shape in shapes.items():
        n = 1
        for d in shape:
            n *= d
        base = 1.0 if name.endswith("norm.weight") else 0.0
        tensors.append((name, shape, [base + rnd.gauss(0, 0.3) for _ in range(n)]))
    return c, tensors


# Per-block tensors beyond LLaMA's, family by family (tools/families/reference.py block_tensor_names).
FAMILY_BLOCK_EXTRAS = {
    "Qwen2ForCausalLM": ["self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias"],
    "Qwen3ForCausalLM": ["self_attn.q_norm.weight", "self_attn.k_norm.weight", "self_attn.q_proj.bias",
                         "self_attn.k_proj.bias", "self_attn.v_proj.bias", "self_attn.o_proj.bias"],
    "GemmaForCausalLM": [],
    "MistralForCausalLM": [],
}


def family_folder(folder, arch, L=5, tied=True, extra_config=None):
    """A tiny F32 checkpoint of `arch` whose every tensor holds distinct bytes (its name's hash)."""
    import hashlib
    names = ["model.embed_tokens.weight", "model.norm.weight"] + ([] if tied else ["lm_head.weight"])
    for i in range(L):
        names += [f"model.layers.{i}.{s}" for s in ["input_layernorm.weight", "post_attention_layernorm.weight",
                                                     "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                                                     "self_attn.v_proj.weight", "self_attn.o_proj.weight",
                                                     "mlp.gate_proj.weight", "mlp.up_proj.weight",
                                                     "mlp.down_proj.weight"] + FAMILY_BLOCK_EXTRAS[arch]]
    tensors = [(n, [3], [float(b) for b in hashlib.sha256(n.encode()).digest()[:3]]) for n in names]
    c = {"architectures": [arch], "num_hidden_layers": L, **(extra_config or {})}
    if not tied:
        c["tie_word_embeddings"] = False
    write_checkpoint(folder, c, tensors)
    return c, {n: struct.pack("<3f", *v) for n, _, v in tensors}


def folder_bytes(folder):
    out = {}
    for fn in am.weight_files(folder, sorted(os.listdir(folder))):
        for t in am.read_header(os.path.join(folder, fn)):
            with open(t["file"], "rb") as f:
                f.seek(t["begin"])
                out[t["name"]] = f.read(t["byte_length"])
    return out


class StdlibTests(unittest.TestCase):
    def test_mask_versions(self):
        am.check_mask(mask_json(4, [1]))
        am.check_mask({**mask_json(4, [1]), "version": 2, "healing": {"method": "lora"}})
        with self.assertRaisesRegex(am.MaskApplyError, "unsupported version 3"):
            am.check_mask({**mask_json(4, [1]), "version": 3})

    def test_family_tensors_follow_their_block(self):
        """Biases and q/k norms are renumbered with their block; tied checkpoints gain no lm_head."""
        removed = [1, 3]
        kept = [0, 2, 4]
        for arch in FAMILY_BLOCK_EXTRAS:
            for tied in (True, False):
                with tempfile.TemporaryDirectory() as tmp:
                    src, out = os.path.join(tmp, "src"), os.path.join(tmp, "out")
                    os.makedirs(src)
                    c, source = family_folder(src, arch, tied=tied)
                    mpath = os.path.join(tmp, "mask.json")
                    with open(mpath, "w") as f:
                        json.dump(mask_json(5, removed, arch=arch), f)
                    am.apply_mask(mpath, src, out, check_fingerprint=False, log=lambda *_: None)
                    got = folder_bytes(out)
                    want = {}
                    for name, data in source.items():
                        m = am.LAYER_RE.match(name)
                        if not m:
                            want[name] = data
                        elif int(m.group(1)) in kept:
                            want[f"model.layers.{kept.index(int(m.group(1)))}.{m.group(2)}"] = data
                    self.assertEqual(got, want, f"{arch} tied={tied}")
                    self.assertEqual("lm_head.weight" in got, not tied)
                    for extra in FAMILY_BLOCK_EXTRAS[arch]:
                        self.assertEqual(got[f"model.layers.1.{extra}"], source[f"model.layers.2.{extra}"])

    def test_max_window_layers_is_recounted(self):
        """Qwen windows the layers >= max_window_layers: the kept blocks keep their kind of attention."""
        text = '{"max_window_layers": 2, "num_hidden_layers": 5, "use_sliding_window": true}'
        self.assertEqual(am.pruned_config_text(text, [1, 2, 4]),
                         '{"max_window_layers": 1, "num_hidden_layers": 3, "use_sliding_window": true}')
        self.assertEqual(am.pruned_config_text(text, [2, 3]),
                         '{"max_window_layers": 0, "num_hidden_layers": 2, "use_sliding_window": true}')
        # a threshold past the last block stays past it (Qwen3-0.6B: 28 of 28)
        self.assertEqual(am.pruned_config_text('{"num_hidden_layers": 4, "max_window_layers": 28}', [0, 3]),
                         '{"num_hidden_layers": 2, "max_window_layers": 2}')

    def test_new_families_need_skip_fingerprint_until_the_engine_loads_them(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "src")
            os.makedirs(src)
            family_folder(src, "Qwen2ForCausalLM")
            mpath = os.path.join(tmp, "mask.json")
            with open(mpath, "w") as f:
                json.dump(mask_json(5, [1], arch="Qwen2ForCausalLM"), f)
            with self.assertRaisesRegex(am.MaskApplyError, "skip-fingerprint"):
                am.apply_mask(mpath, src, os.path.join(tmp, "out"), log=lambda *_: None)
            with open(mpath, "w") as f:
                json.dump(mask_json(5, [1], arch="MistralForCausalLM"), f)
            with self.assertRaisesRegex(am.MaskApplyError, "mask is for MistralForCausalLM"):
                am.apply_mask(mpath, src, os.path.join(tmp, "out2"), check_fingerprint=False, log=lambda *_: None)

    def test_natural_order_and_sizes(self):
        names = ["model.layers.10.a", "model.layers.9.a", "lm_head.weight", "model.norm.weight", "model.layers.1.b"]
        import functools
        got = sorted(names, key=functools.cmp_to_key(am.natural_cmp))
        self.assertEqual(got, ["lm_head.weight", "model.layers.1.b", "model.layers.9.a", "model.layers.10.a", "model.norm.weight"])
        self.assertEqual(am.parse_size("2GB"), 2 * 10**9)
        self.assertEqual(am.parse_size("500MiB"), 500 * 2**20)
        self.assertEqual(am.parse_size("1234"), 1234)

    def test_config_edit_keeps_other_bytes(self):
        text = '{"a": 1e-05, "num_hidden_layers": 6,\n "nested": {"num_hidden_layers": 6}, "layer_types": ["x","y","x","y","x","y"]}'
        out = am.pruned_config_text(text, [0, 1, 5])
        self.assertEqual(out, '{"a": 1e-05, "num_hidden_layers": 3,\n "nested": {"num_hidden_layers": 6}, "layer_types": ["x","y","y"]}')

    def test_js_number_formatting(self):
        cases = {1e-05: "0.00001", 1e-06: "0.000001", 1e-07: "1e-7", 10000.0: "10000", 500000.0: "500000", 0.02: "0.02",
                 1.5e21: "1.5e+21", 1e21: "1e+21", 123456789012345680000.0: "123456789012345680000", -0.5: "-0.5",
                 0.1 + 0.2: "0.30000000000000004", 5e-324: "5e-324", 7: "7", True: "true"}
        for x, js in cases.items():
            self.assertEqual(am.js_number(x), js, repr(x))

    def test_canonical_json(self):
        self.assertEqual(am.canonical_json({"b": [1, 2.5, None], "a": {"d": "x\"y", "c": False}}),
                         '{"a":{"c":false,"d":"x\\"y"},"b":[1,2.5,null]}')

    def test_header_alignment(self):
        p = am.safetensors_prefix([{"name": "x", "dtype": "F16", "shape": [3], "byte_length": 6}])
        (n,) = struct.unpack("<Q", p[:8])
        self.assertEqual(n % 8, 0)
        self.assertEqual(len(p), 8 + n)
        self.assertEqual(json.loads(p[8:].decode())["x"]["data_offsets"], [0, 6])


@unittest.skipIf(torch is None, "torch is not installed")
class TorchTests(unittest.TestCase):
    def check(self, src, removed, c):
        with tempfile.TemporaryDirectory() as tmp:
            mpath = os.path.join(tmp, "mask.json")
            tensors = []
            for fn in am.weight_files(src, sorted(os.listdir(src))):
                tensors += am.read_header(os.path.join(src, fn))
            with open(mpath, "w") as f:
                json.dump(mask_json(c["num_hidden_layers"], removed, fingerprint=am.checkpoint_fingerprint(c, tensors)), f)
            out = os.path.join(tmp, "out")
            am.apply_mask(mpath, src, out, max_shard_bytes=200_000, log=lambda *_: None)
            with open(os.path.join(out, "config.json")) as f:
                pc = json.load(f)
            self.assertEqual(pc["num_hidden_layers"], c["num_hidden_layers"] - len(removed))
            full, pruned = load_folder(src), load_folder(out)
            # Exactly the parameters a LlamaForCausalLM with the new config expects (strict load).
            self.assertEqual(set(pruned), expected_names(pc))
            ids = torch.tensor([1, 5, 9, 2, 7, 3, 11, 4])
            ids = ids % c["vocab_size"]
            cut = llama_logits(full, c, ids, skip=set(removed))
            got = llama_logits(pruned, pc, ids)
            self.assertTrue(torch.equal(cut, got), f"max diff {(cut - got).abs().max().item()}")
            self.assertFalse(torch.equal(cut, llama_logits(full, c, ids)))

    def test_synthetic_untied_and_tied(self):
        for tied in (False, True):
            c, tensors = synthetic(tied=tied)
            with tempfile.TemporaryDirectory() as src:
                write_checkpoint(src, c, tensors)
                self.check(src, [1, 4], c)

    @unittest.skipIf(not os.path.exists(os.path.join(FAMILIES, "index.json")), "family fixtures not written")
    def test_family_checkpoints(self):
        """Each family fixture, pruned on disk, computes (tools/families/reference.py, float64) exactly
        what the full model computes with those blocks skipped."""
        sys.path.insert(0, os.path.join(ROOT, "tools", "families"))
        import reference as ref
        with open(os.path.join(FAMILIES, "index.json")) as f:
            names = list(json.load(f)["families"])
        ids = torch.tensor([[1, 1059, 359, 478, 293, 603, 47, 443, 261, 413, 782, 359, 47, 69, 1302, 285]])
        for name in names:
            src = os.path.join(FAMILIES, name)
            with open(os.path.join(src, "config.json")) as f:
                c = json.load(f)
            L = c["num_hidden_layers"]
            removed = [0, L - 2]
            with tempfile.TemporaryDirectory() as tmp:
                mpath = os.path.join(tmp, "mask.json")
                with open(mpath, "w") as f:
                    json.dump(mask_json(L, removed, arch=c["architectures"][0]), f)
                out = os.path.join(tmp, "out")
                am.apply_mask(mpath, src, out, check_fingerprint=False, log=lambda *_: None)
                with open(os.path.join(out, "config.json")) as f:
                    pc = json.load(f)
                full = {k: v.double() for k, v in load_folder(src).items()}
                pruned = {k: v.double() for k, v in load_folder(out).items()}
                spec, pspec = ref.spec_from_config(c), ref.spec_from_config(pc)
                self.assertEqual(set(pruned), set(ref.tensor_shapes(pspec)), name)
                with torch.no_grad():
                    cut = ref.forward(full, spec, ids, skip=set(removed))
                    got = ref.forward(pruned, pspec, ids)
                self.assertTrue(torch.equal(cut, got), f"{name}: max diff {(cut - got).abs().max().item()}")

    @unittest.skipIf(not os.path.exists(os.path.join(TINY, "model.safetensors")), "kjv-tiny-llama not built yet")
    def test_tiny_model(self):
        with open(os.path.join(TINY, "config.json")) as f:
            c = json.load(f)
        L = c["num_hidden_layers"]
        self.check(TINY, [L // 2 - 1, L // 2, L - 3], c)


if __name__ == "__main__":
    unittest.main(verbosity=2)
