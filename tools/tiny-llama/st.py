"""Minimal safetensors reader/writer (numpy), F32/F16/BF16/I32."""
import json, struct
import numpy as np

DT = {'F32': np.float32, 'F16': np.float16, 'BF16': np.uint16, 'I32': np.int32}


def f32_to_bf16_bits(a):
    """round-to-nearest-even float32 -> bfloat16 bit pattern (uint16)"""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def bf16_bits_to_f32(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def save(path, tensors, dtype):
    """tensors: list of (name, float array); dtype 'F16' or 'BF16' or 'F32'. Written in the given order."""
    header, blobs, off = {}, [], 0
    for name, a in tensors:
        a = np.asarray(a, dtype=np.float32)
        if dtype == 'F16':
            b = a.astype('<f2').tobytes()
        elif dtype == 'BF16':
            b = f32_to_bf16_bits(a).astype('<u2').tobytes()
        else:
            b = a.astype('<f4').tobytes()
        header[name] = {'dtype': dtype, 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header['__metadata__'] = {'format': 'pt'}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """-> dict name -> float64 numpy array (exact values of the stored F16/BF16/F32 numbers)"""
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        s, e = info['data_offsets']
        raw = np.frombuffer(data[base + s:base + e], dtype=DT[info['dtype']].__name__ if False else DT[info['dtype']])
        if info['dtype'] == 'BF16':
            raw = bf16_bits_to_f32(raw)
        out[name] = raw.astype(np.float64).reshape(info['shape'])
    return out
