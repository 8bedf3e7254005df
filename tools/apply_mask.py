#!/usr/bin/env python3
"""Apply a Depth-Pruning Lab mask to a Hugging Face checkpoint folder, at the safetensors level.

    python3 tools/apply_mask.py MASK.json SRC_DIR OUT_DIR [--max-shard-size 2GB] [--overwrite]

Python 3 standard library only (json, struct): no torch, no transformers. It checks that the
mask fits the checkpoint (num_hidden_layers, architecture, and model.fingerprint, recomputed the
way src/io/fingerprint.ts computes it; --skip-fingerprint to rely on the first two), keeps the blocks listed in mask["kept"] renumbered 0..L'-1 (model.layers.{i}.*),
every tensor of a block goes with it (biases, q_norm/k_norm included); keeps every other tensor
(embeddings, final norm, lm_head; tied embeddings stay tied: an absent lm_head stays absent), copies the
tensor bytes as they are, shards past --max-shard-size with model.safetensors.index.json, edits
config.json in place (num_hidden_layers, per-layer lists such as layer_types, Qwen's
max_window_layers recounted over the kept blocks), copies the
other top-level files (generation config, tokenizer) and writes the mask as pruning_mask.json.
The result loads with AutoModelForCausalLM.from_pretrained(OUT_DIR) as the source's architecture.

The layout rules are those of src/export/checkpoint.ts (tensor order, header bytes, shard split,
config edit), so both write byte-identical folders; tests/unit/export-python.test.ts checks it.
"""
import argparse
import functools
import json
import os
import re
import shutil
import struct
import sys

MASK_FORMAT = "depth-pruning-lab/mask"
# 2 = the same mask with a healing record (LoRA), which this tool does not need
MASK_VERSIONS = (1, 2)
INDEX_FILE = "model.safetensors.index.json"
SINGLE_FILE = "model.safetensors"
MASK_FILE = "pruning_mask.json"
LEGACY_MASK_FILE = "pruning-mask.json"  # where earlier CLI builds wrote a mask; never copied either
DEFAULT_SHARD_BYTES = 2_000_000_000  # "2GB" as Hugging Face counts it
PER_LAYER_CONFIG_KEYS = ["layer_types", "no_rope_layers"]
# Qwen2/Qwen3 window the layers >= max_window_layers (with use_sliding_window): the threshold becomes
# the number of kept blocks below it, so every kept block keeps its kind of attention.
LAYER_THRESHOLD_CONFIG_KEYS = ["max_window_layers"]
PIECE_BYTES = 4 << 20
DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
              "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1}
LAYER_RE = re.compile(r"^model\.layers\.(\d+)\.(.+)$", re.S)
WEIGHT_RE = re.compile(r"\.(safetensors|bin|pt|pth|ckpt|h5|msgpack|onnx|gguf|ggml)$", re.I)


class MaskApplyError(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# Mask checks (the structural rules; the full JSON Schema lives in src/prune/mask-schema.json).

def check_mask(mask):
    if not isinstance(mask, dict):
        raise MaskApplyError("mask: must be a JSON object")
    if mask.get("format") != MASK_FORMAT:
        raise MaskApplyError(f'mask: not a depth-pruning-lab mask (format is {mask.get("format")!r})')
    if mask.get("version") not in MASK_VERSIONS:
        raise MaskApplyError(f'mask: unsupported version {mask.get("version")!r} (this tool reads versions {MASK_VERSIONS[0]} and {MASK_VERSIONS[1]})')
    model = mask.get("model")
    if not isinstance(model, dict):
        raise MaskApplyError("mask: /model is missing")
    L = model.get("num_hidden_layers")
    if not isinstance(L, int) or isinstance(L, bool) or L < 1:
        raise MaskApplyError(f"mask: /model/num_hidden_layers must be a positive integer, got {L!r}")
    kept, removed = mask.get("kept"), mask.get("removed")
    for name, lst in (("kept", kept), ("removed", removed)):
        if not isinstance(lst, list) or any(not isinstance(b, int) or isinstance(b, bool) for b in lst):
            raise MaskApplyError(f"mask: /{name} must be a list of block indices")
        if lst != sorted(set(lst)):
            raise MaskApplyError(f"mask: /{name} must be sorted ascending without duplicates")
        bad = [b for b in lst if b < 0 or b >= L]
        if bad:
            raise MaskApplyError(f"mask: /{name}: block {bad[0]} does not exist in a model of {L} blocks")
    if not kept:
        raise MaskApplyError("mask: /kept is empty: a model needs at least one block")
    both = sorted(set(kept) & set(removed))
    if both:
        raise MaskApplyError(f"mask: block {both[0]} is both kept and removed")
    missing = sorted(set(range(L)) - set(kept) - set(removed))
    if missing:
        raise MaskApplyError(f"mask: block(s) {missing} are neither kept nor removed")
    result = mask.get("result", {}).get("num_hidden_layers") if isinstance(mask.get("result"), dict) else None
    if result != len(kept):
        raise MaskApplyError(f"mask: /result/num_hidden_layers must be {len(kept)} (the number of kept blocks), got {result!r}")
    return kept


# ----------------------------------------------------------------------------------------------
# safetensors

def read_header(path):
    with open(path, "rb") as f:
        first8 = f.read(8)
        if len(first8) < 8:
            raise MaskApplyError(f"{path}: shorter than 8 bytes")
        (n,) = struct.unpack("<Q", first8)
        size = os.fstat(f.fileno()).st_size
        if n < 2 or 8 + n > size:
            raise MaskApplyError(f"{path}: invalid header length {n}")
        header = json.loads(f.read(n).decode("utf-8"))
    tensors = []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        count = 1
        for d in e["shape"]:
            count *= d
        if e["dtype"] in DTYPE_SIZE and count * DTYPE_SIZE[e["dtype"]] != end - begin:
            raise MaskApplyError(f'{path}: tensor "{name}": shape {e["shape"]} x {e["dtype"]} does not match its {end - begin} bytes')
        if 8 + n + end > size:
            raise MaskApplyError(f'{path}: tensor "{name}" runs past the end of the file (truncated?)')
        tensors.append({"name": name, "dtype": e["dtype"], "shape": list(e["shape"]), "byte_length": end - begin,
                        "file": path, "begin": 8 + n + begin})
    return tensors


def safetensors_prefix(tensors):
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    for t in tensors:
        header[t["name"]] = {"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [offset, offset + t["byte_length"]]}
        offset += t["byte_length"]
    data = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    padded = (len(data) + 7) // 8 * 8
    return struct.pack("<Q", padded) + data + b" " * (padded - len(data))


def weight_files(src, names):
    if INDEX_FILE in names:
        with open(os.path.join(src, INDEX_FILE), encoding="utf-8") as f:
            weight_map = json.load(f).get("weight_map")
        if not isinstance(weight_map, dict):
            raise MaskApplyError(f"{INDEX_FILE}: no weight_map")
        files = sorted(set(weight_map.values()))
        for fn in files:
            if "/" in fn or "\\" in fn or fn in (".", ".."):
                raise MaskApplyError(f"{INDEX_FILE}: {fn!r} is not a plain file name")
        return files
    if SINGLE_FILE in names:
        return [SINGLE_FILE]
    files = sorted(n for n in names if n.endswith(".safetensors"))
    if not files:
        raise MaskApplyError(f"{src}: no safetensors weights (pickle .bin checkpoints are not supported)")
    return files


# ----------------------------------------------------------------------------------------------
# Planning: the same rules as planPrunedCheckpoint in src/export/checkpoint.ts.

def natural_cmp(a, b):
    ra, rb = re.findall(r"\d+|\D+", a), re.findall(r"\d+|\D+", b)
    for x, y in zip(ra, rb):
        if x == y:
            continue
        if x[0].isdigit() and y[0].isdigit():
            d = int(x) - int(y)
            return d if d else len(x) - len(y)
        return -1 if x < y else 1
    return len(ra) - len(rb)


def plan(tensors, kept, num_layers, max_shard_bytes):
    new_index = {b: j for j, b in enumerate(kept)}
    out, seen, names = [], set(), set()
    for t in tensors:
        if t["name"] in names:
            raise MaskApplyError(f'tensor "{t["name"]}" appears twice in the source')
        names.add(t["name"])
        name = t["name"]
        m = LAYER_RE.match(name)
        if m:
            layer = int(m.group(1))
            if layer >= num_layers:
                raise MaskApplyError(f'tensor "{name}" belongs to block {layer}, but the model has {num_layers} blocks')
            seen.add(layer)
            if layer not in new_index:
                continue
            name = f"model.layers.{new_index[layer]}.{m.group(2)}"
        out.append(dict(t, source=t["name"], name=name))
    missing = [b for b in kept if b not in seen]
    if missing:
        raise MaskApplyError(f"the source has no tensors for kept block(s) {missing}")
    out.sort(key=functools.cmp_to_key(lambda a, b: natural_cmp(a["name"], b["name"])))
    groups, current, current_bytes = [], [], 0
    for t in out:
        if current and current_bytes + t["byte_length"] > max_shard_bytes:
            groups.append(current)
            current, current_bytes = [], 0
        current.append(t)
        current_bytes += t["byte_length"]
    if current:
        groups.append(current)
    n = len(groups)
    return [(SINGLE_FILE if n == 1 else f"model-{i + 1:05d}-of-{n:05d}.safetensors", g) for i, g in enumerate(groups)]


# ----------------------------------------------------------------------------------------------
# config.json: replace top-level values in place (same scanner as prunedConfigText).

def top_level_value_spans(text):
    spans, i, n = {}, 0, len(text)

    def ws():
        nonlocal i
        while i < n and text[i] in " \t\r\n":
            i += 1

    def string():
        nonlocal i
        start = i
        i += 1
        while i < n and text[i] != '"':
            i += 2 if text[i] == "\\" else 1
        if i >= n:
            raise MaskApplyError("config.json: unterminated string")
        i += 1
        return json.loads(text[start:i])

    def value():
        nonlocal i
        ws()
        if i < n and text[i] == '"':
            string()
            return
        if i < n and text[i] in "{[":
            depth = 0
            while True:
                c = text[i]
                if c == '"':
                    string()
                else:
                    if c in "{[":
                        depth += 1
                    elif c in "}]":
                        depth -= 1
                    i += 1
                if depth <= 0 or i >= n:
                    break
            if depth != 0:
                raise MaskApplyError("config.json: unbalanced brackets")
            return
        while i < n and text[i] not in ",}] \t\r\n":
            i += 1

    ws()
    if i >= n or text[i] != "{":
        raise MaskApplyError("config.json is not a JSON object")
    i += 1
    ws()
    if i < n and text[i] == "}":
        return spans
    while True:
        ws()
        if i >= n or text[i] != '"':
            raise MaskApplyError("config.json: expected a key")
        key = string()
        ws()
        if i >= n or text[i] != ":":
            raise MaskApplyError('config.json: expected ":"')
        i += 1
        ws()
        start = i
        value()
        spans[key] = (start, i)
        ws()
        if i < n and text[i] == ",":
            i += 1
            continue
        if i < n and text[i] == "}":
            return spans
        raise MaskApplyError('config.json: expected "," or "}"')


def pruned_config_text(text, kept):
    config = json.loads(text)
    L = config.get("num_hidden_layers")
    edits = {"num_hidden_layers": str(len(kept))}
    for key in PER_LAYER_CONFIG_KEYS:
        v = config.get(key)
        if isinstance(v, list):
            if len(v) != L:
                raise MaskApplyError(f"config.json: {key} has {len(v)} entries for {L} layers")
            edits[key] = json.dumps([v[b] for b in kept], separators=(",", ":"), ensure_ascii=False)
    for key in LAYER_THRESHOLD_CONFIG_KEYS:
        v = config.get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            edits[key] = str(sum(1 for b in kept if b < v))
    spans = top_level_value_spans(text)
    for start, end, new in sorted(((*spans[k], v) for k, v in edits.items()), reverse=True):
        text = text[:start] + new + text[end:]
    return text


def is_copied_file(name):
    if "/" in name or "\\" in name or name.startswith("."):
        return False
    if name in ("config.json", INDEX_FILE, MASK_FILE, LEGACY_MASK_FILE):
        return False
    if WEIGHT_RE.search(name) or name.lower().endswith(".index.json"):
        return False
    return True


# ----------------------------------------------------------------------------------------------
# The checkpoint fingerprint, recomputed as src/io/fingerprint.ts does it (contentFingerprint over
# layoutFingerprint + sampled bytes), with the normalized config of src/io/config.ts parseConfig.
# tests/unit/export-python.test.ts compares it with the engine's on real loads.

# src/io/families.ts: architecture -> (family, model_type)
FAMILIES = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral", "Qwen2ForCausalLM": "qwen2",
            "Qwen3ForCausalLM": "qwen3", "GemmaForCausalLM": "gemma"}
SUPPORTED_ARCHS = list(FAMILIES)
MODEL_TYPE_TO_ARCH = {fam: arch for arch, fam in FAMILIES.items()}
HEAD_DIM_DEFAULT = {"qwen3": 128, "gemma": 256}
TIE_DEFAULT = {"gemma": True}
SAMPLE_BYTES = 64


class FingerprintUnavailable(Exception):
    pass


def js_number(x):
    """A number as JavaScript's JSON.stringify writes it (Number::toString)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        if abs(x) < 10**21:
            return str(x)
        x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        return "null"
    if x == 0:
        return "0"
    from decimal import Decimal
    sign = "-" if x < 0 else ""
    d = Decimal(repr(abs(x))).normalize()
    t = d.as_tuple()
    digits = "".join(map(str, t.digits))
    k = len(digits)
    n = t.exponent + k
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mant = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mant}e{'+' if e >= 0 else '-'}{abs(e)}"


def canonical_json(v):
    """src/io/fingerprint.ts canonicalJson: JSON with object keys sorted at every level."""
    if v is None or isinstance(v, (bool, int, float)):
        return "null" if v is None else js_number(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(canonical_json(x) for x in v) + "]"
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical_json(x) for k, x in items) + "}"
    raise FingerprintUnavailable(f"unexpected value {v!r}")


def normalized_config(c):
    """The ModelConfig that src/io/config.ts parseConfig returns (field names and defaults)."""
    def get(o, k):
        return o.get(k) if isinstance(o, dict) else None

    archs = c.get("architectures")
    if archs is not None:
        found = [a for a in archs if a in SUPPORTED_ARCHS]
        if not found:
            raise FingerprintUnavailable(f"architecture {archs} is not one the engine loads")
        arch = found[0]
    elif c.get("model_type") in MODEL_TYPE_TO_ARCH:
        arch = MODEL_TYPE_TO_ARCH[c["model_type"]]
    else:
        raise FingerprintUnavailable("no architectures / model_type")
    fam = FAMILIES[arch]
    hidden, heads = c["hidden_size"], c["num_attention_heads"]
    kv = heads if c.get("num_key_value_heads") is None else c["num_key_value_heads"]
    head_dim = (HEAD_DIM_DEFAULT.get(fam, hidden // heads)) if c.get("head_dim") is None else c["head_dim"]
    rope_params = c.get("rope_parameters") if isinstance(c.get("rope_parameters"), dict) else None
    theta_src = rope_params if rope_params is not None and rope_params.get("rope_theta") is not None else c
    theta = 10000 if theta_src.get("rope_theta") is None else theta_src["rope_theta"]
    rs = c.get("rope_scaling") if c.get("rope_scaling") is not None else rope_params
    scaling = None
    if rs is not None:
        kind = rs.get("rope_type") if rs.get("rope_type") is not None else rs.get("type")
        kind = "default" if kind is None else kind
        if kind == "llama3":
            scaling = {"type": "llama3", "factor": rs["factor"], "lowFreqFactor": rs["low_freq_factor"],
                       "highFreqFactor": rs["high_freq_factor"],
                       "originalMaxPositionEmbeddings": rs["original_max_position_embeddings"]}
        elif kind != "default":
            raise FingerprintUnavailable(f"rope type {kind!r} is not one the engine loads")
    eos = c.get("eos_token_id")
    dtype = c.get("torch_dtype") if c.get("torch_dtype") is not None else c.get("dtype")
    dtype = dtype if isinstance(dtype, str) else None
    return {
        **family_traits(fam, c, dtype),
        "architecture": arch,
        "hiddenSize": hidden,
        "intermediateSize": c["intermediate_size"],
        "numLayers": c["num_hidden_layers"],
        "numHeads": heads,
        "numKvHeads": kv,
        "headDim": head_dim,
        "rmsNormEps": 1e-6 if c.get("rms_norm_eps") is None else c["rms_norm_eps"],
        "ropeTheta": theta,
        "ropeScaling": scaling,
        "tieWordEmbeddings": TIE_DEFAULT.get(fam, False) if c.get("tie_word_embeddings") is None else c["tie_word_embeddings"],
        "vocabSize": c["vocab_size"],
        "bosTokenId": c.get("bos_token_id"),
        "eosTokenIds": [] if eos is None else (list(eos) if isinstance(eos, list) else [eos]),
        "torchDtype": dtype,
        "maxPositionEmbeddings": 2048 if c.get("max_position_embeddings") is None else c["max_position_embeddings"],
    }


def family_traits(fam, c, dtype):
    """src/io/families.ts familyTraits, as the fingerprint sees them (none for a model that computes as LLaMA)."""
    L = c["num_hidden_layers"]
    windows = [None] * L
    w = c["sliding_window"] if "sliding_window" in c else 4096
    if w is not None and (fam == "mistral" or (fam in ("qwen2", "qwen3") and c.get("use_sliding_window") is True)):
        if fam == "mistral":
            windows = [w] * L
        elif c.get("layer_types") is not None:
            windows = [w if t == "sliding_attention" else None for t in c["layer_types"]]
        else:
            start = 28 if c.get("max_window_layers") is None else c["max_window_layers"]
            windows = [w if i >= start else None for i in range(L)]
    bias = (["q_proj", "k_proj", "v_proj"] if fam == "qwen2"
            else ["q_proj", "k_proj", "v_proj", "o_proj"] if c.get("attention_bias") is True else [])
    traits = {
        "family": fam, "projectionBias": bias, "qkNorm": fam == "qwen3", "normOffset": 1 if fam == "gemma" else 0,
        "activation": "gelu_tanh" if fam == "gemma" else "silu", "windows": windows,
        "embedScale": round_to_dtype(c["hidden_size"] ** 0.5, dtype) if fam == "gemma" else None,
    }
    as_llama = fam in ("llama", "mistral") and all(x is None for x in windows)
    return {} if as_llama else traits


def round_to_dtype(x, dtype):
    """Gemma's sqrt(hidden) as the model dtype holds it (src/io/families.ts roundToDtype)."""
    import struct
    if dtype == "float16":
        return struct.unpack("<e", struct.pack("<e", x))[0]
    bits = struct.unpack("<I", struct.pack("<f", x))[0]
    if dtype == "bfloat16":
        bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def block_tensor_names(mc):
    """src/io/config.ts blockTensorSpecs: every tensor of one block (suffix after model.layers.{i}.)."""
    names = ["self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight"]
    names += [f"self_attn.{p}.bias" for p in mc.get("projectionBias", [])]
    if mc.get("qkNorm"):
        names += ["self_attn.q_norm.weight", "self_attn.k_norm.weight"]
    return names + ["mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight",
                    "input_layernorm.weight", "post_attention_layernorm.weight"]


def loaded_tensor_names(mc):
    """src/io/config.ts expectedTensors: the tensors the engine loads (and samples)."""
    names = ["model.embed_tokens.weight"]
    for i in range(mc["numLayers"]):
        names += [f"model.layers.{i}.{s}" for s in block_tensor_names(mc)]
    names.append("model.norm.weight")
    if not mc["tieWordEmbeddings"]:
        names.append("lm_head.weight")
    return names


def checkpoint_fingerprint(config, tensors):
    """SHA-256 hex as LoadedCheckpoint.fingerprint; raises FingerprintUnavailable when it cannot."""
    import hashlib

    def sha(text):
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    mc = normalized_config(config)
    by_name = {t["name"]: t for t in tensors}
    index = [[t["name"], t["dtype"], t["shape"], t["byte_length"]]
             for t in sorted(tensors, key=lambda t: t["name"].encode("utf-16-be"))]
    layout = sha(canonical_json({"version": 1, "config": mc, "tensors": index}))
    samples = []
    for name in sorted(loaded_tensor_names(mc), key=lambda n: n.encode("utf-16-be")):
        t = by_name.get(name)
        if t is None:
            raise FingerprintUnavailable(f"tensor {name} is missing")
        with open(t["file"], "rb") as f:
            f.seek(t["begin"])
            samples.append([name, f.read(min(SAMPLE_BYTES, t["byte_length"])).hex()])
    return sha(canonical_json({"version": 1, "layout": layout, "samples": samples}))


# ----------------------------------------------------------------------------------------------

def parse_size(text):
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*", text, re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 2GB, 500MB, 1048576)")
    unit = (m.group(2) or "B").upper()
    mult = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
            "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}[unit]
    return int(float(m.group(1)) * mult)


def apply_mask(mask_path, src, out, max_shard_bytes=DEFAULT_SHARD_BYTES, overwrite=False, check_fingerprint=True, log=print):
    with open(mask_path, "rb") as f:
        mask_bytes = f.read()
    try:
        mask = json.loads(mask_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise MaskApplyError(f"mask: not valid JSON ({e})")
    kept = check_mask(mask)
    L = mask["model"]["num_hidden_layers"]

    with open(os.path.join(src, "config.json"), encoding="utf-8") as f:
        config_text = f.read()
    config = json.loads(config_text)
    if config.get("num_hidden_layers") != L:
        raise MaskApplyError(f"the mask is for a model with {L} blocks, {src}/config.json has {config.get('num_hidden_layers')}")
    archs = config.get("architectures") or []
    if mask["model"].get("architecture") and archs and mask["model"]["architecture"] not in archs:
        raise MaskApplyError(f"the mask is for {mask['model']['architecture']}, the checkpoint is {', '.join(archs)}")
    names = sorted(e.name for e in os.scandir(src) if e.is_file())
    tensors = []
    for fn in weight_files(src, names):
        tensors += read_header(os.path.join(src, fn))
    want = mask["model"].get("fingerprint")
    if check_fingerprint:
        try:
            have = checkpoint_fingerprint(config, tensors)
        except (FingerprintUnavailable, KeyError, TypeError, ValueError) as e:
            raise MaskApplyError(f"cannot recompute the checkpoint fingerprint ({e}); "
                                 "use --skip-fingerprint to rely on the layer count and architecture only")
        if have != want:
            raise MaskApplyError(f"the mask was made for another checkpoint (fingerprint {str(want)[:12]}..., "
                                 f"this folder's is {have[:12]}...); use --skip-fingerprint to apply it anyway")
    shards = plan(tensors, kept, L, max_shard_bytes)

    if os.path.exists(out) and os.listdir(out) and not overwrite:
        raise MaskApplyError(f"output folder {out} is not empty (use --overwrite)")
    os.makedirs(out, exist_ok=True)

    total = 0
    handles = {}
    try:
        for file, group in shards:
            with open(os.path.join(out, file), "wb") as w:
                w.write(safetensors_prefix(group))
                for t in group:
                    r = handles.get(t["file"]) or handles.setdefault(t["file"], open(t["file"], "rb"))
                    r.seek(t["begin"])
                    left = t["byte_length"]
                    while left:
                        piece = r.read(min(PIECE_BYTES, left))
                        if not piece:
                            raise MaskApplyError(f'{t["file"]}: ends inside tensor "{t["source"]}"')
                        w.write(piece)
                        left -= len(piece)
                    total += t["byte_length"]
    finally:
        for h in handles.values():
            h.close()

    for name in names:
        if is_copied_file(name):
            shutil.copyfile(os.path.join(src, name), os.path.join(out, name))
    if len(shards) > 1:
        weight_map = {t["name"]: file for file, group in shards for t in group}
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        with open(os.path.join(out, INDEX_FILE), "w", encoding="utf-8", newline="") as f:
            f.write(json.dumps(index, indent=2, ensure_ascii=False) + "\n")
    with open(os.path.join(out, MASK_FILE), "wb") as f:
        f.write(mask_bytes)
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8", newline="") as f:
        f.write(pruned_config_text(config_text, kept))
    log(f"kept {len(kept)} of {L} blocks (removed {mask.get('removed')}); "
        f"{sum(len(g) for _, g in shards)} tensors, {total} bytes in {len(shards)} file(s) -> {out}")
    return {"kept": kept, "shards": [f for f, _ in shards], "total_size": total}


def main(argv=None):
    p = argparse.ArgumentParser(description="Apply a Depth-Pruning Lab mask to a Hugging Face safetensors checkpoint folder.")
    p.add_argument("mask", help="the mask JSON exported by the lab")
    p.add_argument("src", help="the source checkpoint folder (config.json + safetensors)")
    p.add_argument("out", help="the output folder (created; must be empty unless --overwrite)")
    p.add_argument("--max-shard-size", type=parse_size, default=DEFAULT_SHARD_BYTES,
                   help="start a new shard past this many tensor bytes (default 2GB = 2*10^9)")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty output folder")
    p.add_argument("--skip-fingerprint", action="store_true",
                   help="do not compare the mask's model.fingerprint with this checkpoint's (layer count and architecture are still checked)")
    a = p.parse_args(argv)
    try:
        apply_mask(a.mask, a.src, a.out, a.max_shard_size, a.overwrite, not a.skip_fingerprint)
    except (MaskApplyError, OSError, ValueError, KeyError) as e:
        print(f"apply_mask: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
