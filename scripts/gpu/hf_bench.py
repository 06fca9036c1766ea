#!/usr/bin/env python3
"""transformers/PEFT baseline at the shape bench/gpu_llama measures (GPU machine).

Random LlamaForCausalLM at the Llama 2 7B shape (dim 4096, 32 layers, 32 heads, hidden 11008,
vocab 32000), bf16, weights drawn on the GPU. Prints JSON lines with the same fields as
bench/gpu_llama: decode tokens/s (greedy generate, batch 1 and 32, prompt 16), prefill tokens/s
(4 x 512 tokens, one forward), and PEFT LoRA r=16 (alpha 32, all seven linears) training
tokens/s (forward + backward + AdamW, 4 x 512 tokens). --layers shrinks the model for a smoke
run; --self-test checks the argument and FLOP arithmetic on the CPU.
"""
import argparse
import json
import sys
import time


def seven_b(layers=32):
    return dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=layers,
                num_attention_heads=32, num_key_value_heads=32, vocab_size=32000,
                max_position_embeddings=4096, rms_norm_eps=1e-5, rope_theta=10000.0,
                tie_word_embeddings=False)


def linear_params(c):
    d, f, kv = c["hidden_size"], c["intermediate_size"], c["hidden_size"] * c["num_key_value_heads"] // c["num_attention_heads"]
    return c["num_hidden_layers"] * (2 * d * d + 2 * d * kv + 3 * d * f) + d * c["vocab_size"]


def emit(**kw):
    print(json.dumps(kw), flush=True)


def run(args):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    dev = torch.device("cuda")
    cfg_d = seven_b(args.layers)
    cfg = LlamaConfig(**cfg_d)
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    with dev:
        model = LlamaForCausalLM(cfg).eval()
    torch.set_default_dtype(torch.float32)
    model.generation_config.eos_token_id = None  # decode exactly the asked number of tokens
    model.generation_config.pad_token_id = 0
    emit(bench="hf_info", torch=torch.__version__, device=torch.cuda.get_device_name(),
         params=sum(p.numel() for p in model.parameters()))

    def sync():
        torch.cuda.synchronize()

    for batch in args.decode_batch:
        prompt = torch.randint(3, cfg.vocab_size, (batch, args.prompt), device=dev)
        with torch.no_grad():
            model.generate(prompt, max_new_tokens=4, do_sample=False)
            sync()
            t0 = time.perf_counter()
            model.generate(prompt, max_new_tokens=args.decode_tokens, do_sample=False)
            sync()
        dt = time.perf_counter() - t0
        emit(bench="hf_decode", batch=batch, prompt=args.prompt, new_tokens=args.decode_tokens,
             seconds=round(dt, 3), tokens_per_s=round(batch * args.decode_tokens / dt, 1))

    n = args.seqs * args.seq_len
    ids = torch.randint(3, cfg.vocab_size, (args.seqs, args.seq_len), device=dev)
    with torch.no_grad():
        model(input_ids=ids)
        sync()
        t0 = time.perf_counter()
        for _ in range(3):
            model(input_ids=ids)
        sync()
    dt = (time.perf_counter() - t0) / 3
    emit(bench="hf_prefill", seqs=args.seqs, seq_len=args.seq_len, tokens=n,
         seconds=round(dt, 4), tokens_per_s=round(n / dt))

    from peft import LoraConfig, get_peft_model
    lcfg = LoraConfig(task_type="CAUSAL_LM", r=args.rank, lora_alpha=2 * args.rank,
                      lora_dropout=0.0,
                      target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                      "up_proj", "down_proj"])
    pm = get_peft_model(model, lcfg)
    pm.train()
    # fp32 master LoRA weights, as our engine keeps them; the frozen base stays bf16.
    for p in pm.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    opt = torch.optim.AdamW([p for p in pm.parameters() if p.requires_grad], lr=1e-4)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = pm(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss)

    step()
    sync()
    t0 = time.perf_counter()
    for _ in range(args.train_steps):
        loss = step()
    sync()
    dt = (time.perf_counter() - t0) / args.train_steps
    tps = n / dt
    attn = cfg_d["num_hidden_layers"] * 6.0 * 2.0 * (args.seq_len / 2.0) * cfg_d["hidden_size"]
    flops_tok = 4.0 * linear_params(cfg_d) + attn
    out = dict(bench="hf_lora_train", rank=args.rank, seqs=args.seqs, seq_len=args.seq_len,
               loss=round(loss, 4), seconds_per_step=round(dt, 4), tokens_per_s=round(tps),
               tflops=round(tps * flops_tok / 1e12, 1))
    if args.peak_tflops:
        out["mfu"] = round(tps * flops_tok / 1e12 / args.peak_tflops, 3)
    emit(**out)
    return 0


def self_test():
    c = seven_b()
    # 7B: ~6.5e9 linear parameters incl. the LM head (embeddings excluded).
    assert 6.4e9 < linear_params(c) < 6.7e9, linear_params(c)
    a = parse(["--decode-batch", "1,32", "--layers", "2"])
    assert a.decode_batch == [1, 32] and a.layers == 2
    try:
        import torch
        tv = torch.__version__
    except ImportError:
        tv = "absent"
    print(f"hf_bench.py self-test passed (torch {tv}; the benchmark itself needs a GPU)")
    return 0


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--decode-batch", type=lambda s: [int(x) for x in s.split(",")], default=[1, 32])
    ap.add_argument("--decode-tokens", type=int, default=64)
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--seqs", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--train-steps", type=int, default=3)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--peak-tflops", type=float, default=0.0)
    ap.add_argument("--self-test", action="store_true")
    return ap.parse_args(argv)


if __name__ == "__main__":
    a = parse(sys.argv[1:])
    sys.exit(self_test() if a.self_test else run(a))
