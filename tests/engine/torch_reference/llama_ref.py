#!/usr/bin/python3
"""Independent PyTorch reference for the workbench Llama engine (tests/engine/test_torch_reference).

Reimplements the Llama-2 forward pass from config.json + model.safetensors (parsed by hand:
8-byte little-endian header length, JSON header, raw tensors; no safetensors package), runs it
sequence by sequence (no packing), and computes with torch autograd the gradient of the masked
mean token cross-entropy with respect to every LoRA A/B of a PEFT adapter directory.

usage: llama_ref.py MODEL_DIR ADAPTER_DIR BATCH_JSON OUT_JSON

BATCH_JSON: {"tokens": [...], "cu_seqlens": [...], "targets": [...], "mask": [...]}
OUT_JSON:   {"base_logits": [...N*V], "lora_logits": [...], "loss": float,
             "grads": {peft_key: [...]}}
"""
import json
import math
import struct
import sys

import numpy as np
import torch


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = data[base + b: base + e]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif dt == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            raise ValueError(f"{path}: unsupported dtype {dt} for {name}")
        out[name] = torch.from_numpy(arr.copy().reshape(info["shape"]))
    return out


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def rope(x, pos, theta):
    # x [L, heads, hd]; HF rotate-half layout; angles in float64 then rounded to float32
    hd = x.shape[-1]
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    ang = pos.to(torch.float64)[:, None] * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], dim=-1).to(torch.float32)[:, None, :]
    sin = torch.cat([ang.sin(), ang.sin()], dim=-1).to(torch.float32)[:, None, :]
    return x * cos + rotate_half(x) * sin


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


class Llama:
    def __init__(self, cfg, weights, lora=None, lora_cfg=None):
        self.c = cfg
        self.w = weights
        self.lora = lora or {}
        self.scale = 0.0
        if lora_cfg:
            r = lora_cfg["r"]
            alpha = lora_cfg["lora_alpha"]
            self.scale = alpha / math.sqrt(r) if lora_cfg.get("use_rslora") else alpha / r

    def linear(self, x, layer, parent, mod):
        y = x @ self.w[f"model.layers.{layer}.{parent}.{mod}.weight"].T
        ka = f"base_model.model.model.layers.{layer}.{parent}.{mod}.lora_A.weight"
        kb = f"base_model.model.model.layers.{layer}.{parent}.{mod}.lora_B.weight"
        if ka in self.lora:
            y = y + self.scale * ((x @ self.lora[ka].T) @ self.lora[kb].T)
        return y

    def forward(self, tokens):
        c, w = self.c, self.w
        D = c["hidden_size"]
        H = c["num_attention_heads"]
        KV = c.get("num_key_value_heads", H)
        hd = D // H
        eps = c.get("rms_norm_eps", 1e-6)
        theta = c.get("rope_theta", 10000.0)
        L = tokens.shape[0]
        pos = torch.arange(L)
        x = w["model.embed_tokens.weight"][tokens]
        mask = torch.full((L, L), float("-inf")).triu(1)
        for l in range(c["num_hidden_layers"]):
            p = f"model.layers.{l}."
            a = rmsnorm(x, w[p + "input_layernorm.weight"], eps)
            q = self.linear(a, l, "self_attn", "q_proj").view(L, H, hd)
            k = self.linear(a, l, "self_attn", "k_proj").view(L, KV, hd)
            v = self.linear(a, l, "self_attn", "v_proj").view(L, KV, hd)
            q, k = rope(q, pos, theta), rope(k, pos, theta)
            k = k.repeat_interleave(H // KV, dim=1)  # HF repeat_kv: head h reads kv head h // rep
            v = v.repeat_interleave(H // KV, dim=1)
            s = torch.einsum("ihd,jhd->hij", q, k) / math.sqrt(hd) + mask
            o = torch.einsum("hij,jhd->ihd", torch.softmax(s, dim=-1), v).reshape(L, H * hd)
            x = x + self.linear(o, l, "self_attn", "o_proj")
            m = rmsnorm(x, w[p + "post_attention_layernorm.weight"], eps)
            g = self.linear(m, l, "mlp", "gate_proj")
            u = self.linear(m, l, "mlp", "up_proj")
            x = x + self.linear(torch.nn.functional.silu(g) * u, l, "mlp", "down_proj")
        h = rmsnorm(x, w["model.norm.weight"], eps)
        out = w["model.embed_tokens.weight"] if c.get("tie_word_embeddings") else w["lm_head.weight"]
        return h @ out.T

    def forward_packed(self, tokens, cu):
        return torch.cat([self.forward(tokens[cu[s]:cu[s + 1]]) for s in range(len(cu) - 1)])


def main():
    model_dir, adapter_dir, batch_path, out_path = sys.argv[1:5]
    torch.manual_seed(0)
    with open(f"{model_dir}/config.json") as f:
        cfg = json.load(f)
    weights = read_safetensors(f"{model_dir}/model.safetensors")
    with open(f"{adapter_dir}/adapter_config.json") as f:
        lora_cfg = json.load(f)
    lora = read_safetensors(f"{adapter_dir}/adapter_model.safetensors")
    with open(batch_path) as f:
        batch = json.load(f)
    tokens = torch.tensor(batch["tokens"], dtype=torch.long)
    cu = batch["cu_seqlens"]
    targets = torch.tensor(batch["targets"], dtype=torch.long)
    mask = torch.tensor(batch["mask"], dtype=torch.float32)

    with torch.no_grad():
        base_logits = Llama(cfg, weights).forward_packed(tokens, cu)

    for t in lora.values():
        t.requires_grad_(True)
    model = Llama(cfg, weights, lora, lora_cfg)
    logits = model.forward_packed(tokens, cu)
    on = (targets >= 0) & (mask > 0)
    nll = torch.nn.functional.cross_entropy(logits[on], targets[on], reduction="none")
    loss = (nll * mask[on]).sum() / mask[on].sum()
    loss.backward()

    out = {
        "base_logits": base_logits.reshape(-1).tolist(),
        "lora_logits": logits.detach().reshape(-1).tolist(),
        "loss": float(loss.item()),
        "grads": {k: t.grad.reshape(-1).tolist() for k, t in lora.items()},
    }
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
