# ruff: noqa: E501  (the programs keep their sources' long lines)
"""Programs in the style of popular model code, run as the tutorials are run
(test_tutorials_torch.compare_runs): once with PyTorch, once with only the imports changed, then
every printed number and every top-level tensor, module (the programs' own nn.Module classes
included: weights and grads) and optimizer compared. Written from memory of the well-known
repositories, not copied: nanoGPT and minGPT, a UNet (Pytorch-UNet), a DINO-style ViT and one
built on nn.TransformerEncoder, a DDPM (denoising-diffusion-pytorch), PixelCNN, WGAN-GP, a
seq2seq GRU with attention, a char-level LSTM with packed sequences, a CIFAR ResNet with the
option-A shortcut, a VAE, a triplet/contrastive network, a mixture density network and a
normalising flow. Small sizes, a few seeded steps; both libraries draw the same random numbers,
so the programs keep their default initialisation.

Where a comparison allows more than the harness's default tolerance, the case says why: a
program in float64 that still rounds a part in float32 (`.float()`), or a sampling loop that
amplifies rounding (an untrained diffusion model's samples grow to ~50).
"""

from __future__ import annotations

import pytest

import tinyconv

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

from test_tutorials_torch import compare_runs  # noqa: E402  (after the skip: it needs torch)

# -- nanoGPT (model.py and train.py): GPT with flash and manual causal attention, LayerNorm without bias, weight tying, AdamW groups by p.dim(), gradient accumulation, clip_grad_norm_, estimate_loss, cosine lr, top-k generate, crop_block_size
NANOGPT = r"""
import math
import inspect
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

class LayerNorm(nn.Module):
    # LayerNorm but with an optional bias. PyTorch doesn't support simply bias=False
    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, input):
        return F.layer_norm(input, self.weight.shape, self.weight, self.bias, 1e-5)

class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.flash = hasattr(torch.nn.functional, 'scaled_dot_product_attention') and config.flash
        if not self.flash:
            self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                                        .view(1, 1, config.block_size, config.block_size))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v  = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        if self.flash:
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=self.dropout if self.training else 0, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:,:,:T,:T] == 0, float('-inf'))
            att = F.softmax(att, dim=-1)
            att = self.attn_dropout(att)
            y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        y = self.resid_dropout(self.c_proj(y))
        return y

class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc    = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu    = nn.GELU(approximate='tanh')
        self.c_proj  = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        x = self.c_fc(x)
        x = self.gelu(x)
        x = self.c_proj(x)
        x = self.dropout(x)
        return x

class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x

@dataclass
class GPTConfig:
    block_size: int = 16
    vocab_size: int = 37
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 16
    dropout: float = 0.0
    bias: bool = True
    flash: bool = True

class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.vocab_size is not None
        assert config.block_size is not None
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte = nn.Embedding(config.vocab_size, config.n_embd),
            wpe = nn.Embedding(config.block_size, config.n_embd),
            drop = nn.Dropout(config.dropout),
            h = nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f = LayerNorm(config.n_embd, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith('c_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02/math.sqrt(2 * config.n_layer))
        print("number of parameters: %.2fM" % (self.get_num_params()/1e6,))
        print("number of parameters:", self.get_num_params())

    def get_num_params(self, non_embedding=True):
        n_params = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n_params -= self.transformer.wpe.weight.numel()
        return n_params

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        assert t <= self.config.block_size, f"Cannot forward sequence of length {t}, block size is only {self.config.block_size}"
        pos = torch.arange(0, t, dtype=torch.long, device=device)
        tok_emb = self.transformer.wte(idx)
        pos_emb = self.transformer.wpe(pos)
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        else:
            logits = self.lm_head(x[:, [-1], :])
            loss = None
        return logits, loss

    def crop_block_size(self, block_size):
        assert block_size <= self.config.block_size
        self.config.block_size = block_size
        self.transformer.wpe.weight = nn.Parameter(self.transformer.wpe.weight[:block_size])
        for block in self.transformer.h:
            if hasattr(block.attn, 'bias'):
                block.attn.bias = block.attn.bias[:,:,:block_size,:block_size]

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        param_dict = {pn: p for pn, p in self.named_parameters()}
        param_dict = {pn: p for pn, p in param_dict.items() if p.requires_grad}
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2]
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2]
        optim_groups = [
            {'params': decay_params, 'weight_decay': weight_decay},
            {'params': nodecay_params, 'weight_decay': 0.0}
        ]
        num_decay_params = sum(p.numel() for p in decay_params)
        num_nodecay_params = sum(p.numel() for p in nodecay_params)
        print(f"num decayed parameter tensors: {len(decay_params)}, with {num_decay_params:,} parameters")
        print(f"num non-decayed parameter tensors: {len(nodecay_params)}, with {num_nodecay_params:,} parameters")
        fused_available = 'fused' in inspect.signature(torch.optim.AdamW).parameters
        use_fused = fused_available and device_type == 'cuda'
        extra_args = dict(fused=True) if use_fused else dict()
        optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, **extra_args)
        print(f"using fused AdamW: {use_fused}", fused_available)
        return optimizer

    def estimate_mfu(self, fwdbwd_per_iter, dt):
        N = self.get_num_params()
        cfg = self.config
        L, H, Q, T = cfg.n_layer, cfg.n_head, cfg.n_embd//cfg.n_head, cfg.block_size
        flops_per_token = 6*N + 12*L*H*Q*T
        flops_per_fwdbwd = flops_per_token * T
        flops_per_iter = flops_per_fwdbwd * fwdbwd_per_iter
        return flops_per_iter

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size:]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float('Inf')
            probs = F.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx

# ---- train.py style loop on a synthetic token stream
torch.manual_seed(1337)
device = 'cpu'
device_type = 'cuda' if 'cuda' in device else 'cpu'
dtype = 'bfloat16' if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else 'float32'
ptdtype = {'float32': torch.float32, 'bfloat16': torch.bfloat16, 'float16': torch.float16}[dtype]
ctx = nullcontext() if device_type == 'cpu' else torch.amp.autocast(device_type=device_type, dtype=ptdtype)
block_size = 16
batch_size = 4
gen = torch.Generator().manual_seed(0)
data = torch.randint(0, 37, (400,), generator=gen)
train_data, val_data = data[:300], data[300:]

def get_batch(split):
    d = train_data if split == 'train' else val_data
    ix = torch.randint(len(d) - block_size, (batch_size,))
    x = torch.stack([d[i:i+block_size] for i in ix])
    y = torch.stack([d[i+1:i+1+block_size] for i in ix])
    return x.to(device), y.to(device)

@torch.no_grad()
def estimate_loss():
    out = {}
    model.eval()
    for split in ['train', 'val']:
        losses = torch.zeros(3)
        for k in range(3):
            X, Y = get_batch(split)
            with ctx:
                logits, loss = model(X, Y)
            losses[k] = loss.item()
        out[split] = losses.mean()
    model.train()
    return out

def get_lr(it, warmup_iters=2, lr_decay_iters=8, learning_rate=1e-3, min_lr=1e-4):
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    assert 0 <= decay_ratio <= 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)

model_args = dict(n_layer=2, n_head=2, n_embd=16, block_size=block_size, bias=False, vocab_size=37, dropout=0.1)
gptconf = GPTConfig(**model_args)
model = GPT(gptconf)
model.to(device)
scaler = torch.cuda.amp.GradScaler(enabled=(dtype == 'float16'))
optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.95), device_type)
grad_clip = 1.0
gradient_accumulation_steps = 2
X, Y = get_batch('train')
losses_seen = []
for iter_num in range(6):
    lr = get_lr(iter_num)
    for param_group in optimizer.param_groups:
        param_group['lr'] = lr
    if iter_num % 3 == 0:
        losses = estimate_loss()
        print(f"step {iter_num}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
    for micro_step in range(gradient_accumulation_steps):
        with ctx:
            logits, loss = model(X, Y)
            loss = loss / gradient_accumulation_steps
        X, Y = get_batch('train')
        scaler.scale(loss).backward()
    if grad_clip != 0.0:
        scaler.unscale_(optimizer)
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    scaler.step(optimizer)
    scaler.update()
    lossf = loss.item() * gradient_accumulation_steps
    losses_seen.append(lossf)
    print(f"iter {iter_num}: loss {lossf:.4f}, norm {norm.item():.5f}")
    optimizer.zero_grad(set_to_none=True)
mfu = model.estimate_mfu(batch_size * gradient_accumulation_steps, 1.0)

# sampling
model.eval()
start_ids = [1, 2, 3]
x = (torch.tensor(start_ids, dtype=torch.long, device=device)[None, ...])
with torch.no_grad():
    with ctx:
        y = model.generate(x, 8, temperature=0.8, top_k=5)
        print(y[0].tolist())

# the manual (non-flash) attention path with the tril buffer, same weights
conf2 = GPTConfig(**{**model_args, 'flash': False, 'dropout': 0.0})
torch.manual_seed(0)
model2 = GPT(conf2)
model2.load_state_dict(model.state_dict(), strict=False)
model.eval()
l1 = model(X, Y)[1]
l2 = model2(X, Y)[1]
print(torch.allclose(l1, l2, atol=1e-6), sorted(model2.state_dict().keys())[:4])
model2.crop_block_size(8)
logits2, _ = model2(X[:, :8])
with torch.autocast(device_type='cpu', dtype=torch.bfloat16, enabled=False):
    logits3, loss3 = model2(X[:, :8].contiguous(), Y[:, :8].contiguous())
print(model2.transformer.h[0].attn.bias.shape)
"""

# -- minGPT: NewGELU, the tril buffer, configure_optimizers by module type, the sort demo's Dataset with an infinite RandomSampler, greedy and top-k generate
MINGPT = r"""
import math
import zlib
import torch
import torch.nn as nn
from torch.nn import functional as F
from torch.utils.data import Dataset, DataLoader

class NewGELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))

class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)
        self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                                     .view(1, 1, config.block_size, config.block_size))
        self.n_head = config.n_head
        self.n_embd = config.n_embd

    def forward(self, x):
        B, T, C = x.size()
        q, k ,v  = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:,:,:T,:T] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        y = self.resid_dropout(self.c_proj(y))
        return y

class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = nn.ModuleDict(dict(
            c_fc    = nn.Linear(config.n_embd, 4 * config.n_embd),
            c_proj  = nn.Linear(4 * config.n_embd, config.n_embd),
            act     = NewGELU(),
            dropout = nn.Dropout(config.resid_pdrop),
        ))
        m = self.mlp
        self.mlpf = lambda x: m.dropout(m.c_proj(m.act(m.c_fc(x))))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlpf(self.ln_2(x))
        return x

class CfgNode:
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

class GPT(nn.Module):
    @staticmethod
    def get_default_config():
        return CfgNode(model_type='gpt', n_layer=2, n_head=2, n_embd=24, vocab_size=None, block_size=None,
                       embd_pdrop=0.1, resid_pdrop=0.1, attn_pdrop=0.1)

    def __init__(self, config):
        super().__init__()
        self.block_size = config.block_size
        self.transformer = nn.ModuleDict(dict(
            wte = nn.Embedding(config.vocab_size, config.n_embd),
            wpe = nn.Embedding(config.block_size, config.n_embd),
            drop = nn.Dropout(config.embd_pdrop),
            h = nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f = nn.LayerNorm(config.n_embd),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith('c_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02/math.sqrt(2 * config.n_layer))
        n_params = sum(p.numel() for p in self.transformer.parameters())
        print("number of parameters: %.2fM" % (n_params/1e6,))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
        elif isinstance(module, nn.LayerNorm):
            torch.nn.init.zeros_(module.bias)
            torch.nn.init.ones_(module.weight)

    def configure_optimizers(self, train_config):
        decay = set()
        no_decay = set()
        whitelist_weight_modules = (torch.nn.Linear, )
        blacklist_weight_modules = (torch.nn.LayerNorm, torch.nn.Embedding)
        for mn, m in self.named_modules():
            for pn, p in m.named_parameters():
                fpn = '%s.%s' % (mn, pn) if mn else pn
                if pn.endswith('bias'):
                    no_decay.add(fpn)
                elif pn.endswith('weight') and isinstance(m, whitelist_weight_modules):
                    decay.add(fpn)
                elif pn.endswith('weight') and isinstance(m, blacklist_weight_modules):
                    no_decay.add(fpn)
        param_dict = {pn: p for pn, p in self.named_parameters()}
        inter_params = decay & no_decay
        union_params = decay | no_decay
        assert len(inter_params) == 0, "parameters %s made it into both decay/no_decay sets!" % (str(inter_params), )
        assert len(param_dict.keys() - union_params) == 0, "parameters %s were not separated into either decay/no_decay set!" \
                                                    % (str(param_dict.keys() - union_params), )
        optim_groups = [
            {"params": [param_dict[pn] for pn in sorted(list(decay))], "weight_decay": train_config.weight_decay},
            {"params": [param_dict[pn] for pn in sorted(list(no_decay))], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(optim_groups, lr=train_config.learning_rate, betas=train_config.betas, foreach=False)
        return optimizer

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        assert t <= self.block_size, f"Cannot forward sequence of length {t}, block size is only {self.block_size}"
        pos = torch.arange(0, t, dtype=torch.long, device=device).unsqueeze(0)
        tok_emb = self.transformer.wte(idx)
        pos_emb = self.transformer.wpe(pos)
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, do_sample=False, top_k=None):
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.block_size else idx[:, -self.block_size:]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, top_k)
                logits[logits < v[:, [-1]]] = -float('Inf')
            probs = F.softmax(logits, dim=-1)
            if do_sample:
                idx_next = torch.multinomial(probs, num_samples=1)
            else:
                _, idx_next = torch.topk(probs, k=1, dim=-1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx

class SortDataset(Dataset):
    def __init__(self, split, length=6, num_digits=3):
        assert split in {'train', 'test'}
        self.split = split
        self.length = length
        self.num_digits = num_digits

    def __len__(self):
        return 64

    def get_vocab_size(self):
        return self.num_digits

    def get_block_size(self):
        return self.length * 2 - 1

    def __getitem__(self, idx):
        while True:
            inp = torch.randint(self.num_digits, size=(self.length,), dtype=torch.long)
            if torch.rand(1).item() < 0.5:
                if inp.unique().nelement() > self.length // 2:
                    continue
            h = zlib.crc32(str(inp.tolist()).encode())
            inp_split = 'test' if h % 4 == 0 else 'train'
            if inp_split == self.split:
                break
        sol = torch.sort(inp)[0]
        cat = torch.cat((inp, sol), dim=0)
        x = cat[:-1].clone()
        y = cat[1:].clone()
        y[:self.length-1] = -1
        return x, y

torch.manual_seed(3407)
train_dataset = SortDataset('train')
x0, y0 = train_dataset[0]
print(x0.tolist(), y0.tolist())
model_config = GPT.get_default_config()
model_config.vocab_size = train_dataset.get_vocab_size()
model_config.block_size = train_dataset.get_block_size()
model = GPT(model_config)
train_config = CfgNode(learning_rate=5e-4, betas=(0.9, 0.95), weight_decay=0.1, grad_norm_clip=1.0, batch_size=8, max_iters=6)
optimizer = model.configure_optimizers(train_config)
train_loader = DataLoader(
    train_dataset,
    sampler=torch.utils.data.RandomSampler(train_dataset, replacement=True, num_samples=int(1e10)),
    shuffle=False,
    pin_memory=True,
    batch_size=train_config.batch_size,
    num_workers=0,
)
model.train()
iter_num = 0
data_iter = iter(train_loader)
losses = []
while True:
    try:
        batch = next(data_iter)
    except StopIteration:
        data_iter = iter(train_loader)
        batch = next(data_iter)
    x, y = batch
    logits, loss = model(x, y)
    model.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), train_config.grad_norm_clip)
    optimizer.step()
    losses.append(loss.item())
    print(f"iter_dt 0ms; iter {iter_num}: train loss {loss.item():.5f}")
    iter_num += 1
    if iter_num >= train_config.max_iters:
        break

model.eval()
n = train_dataset.length
inp = torch.tensor([[0, 0, 2, 1, 0, 1]], dtype=torch.long)
assert inp[0].nelement() == n
with torch.no_grad():
    cat = model.generate(inp, n, do_sample=False)
sol = torch.sort(inp[0])[0]
sol_candidate = cat[:, n:]
print('input sequence  :', inp.tolist())
print('predicted sorted:', sol_candidate.tolist())
print('gt sort         :', sol.tolist())
print('matches         :', bool((sol == sol_candidate).all()))
with torch.no_grad():
    cat2 = model.generate(inp, n, do_sample=True, top_k=2, temperature=0.9)
print(cat2)
"""

# -- Pytorch-UNet: DoubleConv/Down/Up with ConvTranspose2d or bilinear Upsample, F.pad to the skip's size, torch.cat, channels_last, RMSprop, CE + dice loss, ReduceLROnPlateau; in float64 (the dice's .float() rounds in float32 in both: 1e-9 apart)
UNET = r"""
import torch
import torch.nn as nn
import torch.nn.functional as F

class DoubleConv(nn.Module):
    # (convolution => [BN] => ReLU) * 2
    def __init__(self, in_channels, out_channels, mid_channels=None):
        super().__init__()
        if not mid_channels:
            mid_channels = out_channels
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(mid_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True)
        )

    def forward(self, x):
        return self.double_conv(x)

class Down(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.maxpool_conv = nn.Sequential(
            nn.MaxPool2d(2),
            DoubleConv(in_channels, out_channels)
        )

    def forward(self, x):
        return self.maxpool_conv(x)

class Up(nn.Module):
    def __init__(self, in_channels, out_channels, bilinear=True):
        super().__init__()
        if bilinear:
            self.up = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)
            self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
            self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        diffY = x2.size()[2] - x1.size()[2]
        diffX = x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [diffX // 2, diffX - diffX // 2,
                        diffY // 2, diffY - diffY // 2])
        x = torch.cat([x2, x1], dim=1)
        return self.conv(x)

class OutConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super(OutConv, self).__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x):
        return self.conv(x)

class UNet(nn.Module):
    def __init__(self, n_channels, n_classes, bilinear=False, base=4):
        super(UNet, self).__init__()
        self.n_channels = n_channels
        self.n_classes = n_classes
        self.bilinear = bilinear
        self.inc = (DoubleConv(n_channels, base))
        self.down1 = (Down(base, base * 2))
        self.down2 = (Down(base * 2, base * 4))
        factor = 2 if bilinear else 1
        self.down3 = (Down(base * 4, base * 8 // factor))
        self.up1 = (Up(base * 8, base * 4 // factor, bilinear))
        self.up2 = (Up(base * 4, base * 2 // factor, bilinear))
        self.up3 = (Up(base * 2, base, bilinear))
        self.outc = (OutConv(base, n_classes))

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x = self.up1(x4, x3)
        x = self.up2(x, x2)
        x = self.up3(x, x1)
        logits = self.outc(x)
        return logits

def dice_coeff(input, target, reduce_batch_first=False, epsilon=1e-6):
    assert input.size() == target.size()
    assert input.dim() == 3 or not reduce_batch_first
    sum_dim = (-1, -2) if input.dim() == 2 or not reduce_batch_first else (-1, -2, -3)
    inter = 2 * (input * target).sum(dim=sum_dim)
    sets_sum = input.sum(dim=sum_dim) + target.sum(dim=sum_dim)
    sets_sum = torch.where(sets_sum == 0, inter, sets_sum)
    dice = (inter + epsilon) / (sets_sum + epsilon)
    return dice.mean()

def multiclass_dice_coeff(input, target, reduce_batch_first=False, epsilon=1e-6):
    return dice_coeff(input.flatten(0, 1), target.flatten(0, 1), reduce_batch_first, epsilon)

def dice_loss(input, target, multiclass=False):
    fn = multiclass_dice_coeff if multiclass else dice_coeff
    return 1 - fn(input, target, reduce_batch_first=True)

torch.set_default_dtype(torch.float64)
torch.manual_seed(0)
n_classes = 3
images = torch.randn(2, 3, 20, 18)
true_masks = torch.randint(0, n_classes, (2, 20, 18))
results = {}
for bilinear in (False, True):
    model = UNet(n_channels=3, n_classes=n_classes, bilinear=bilinear)
    model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-4, weight_decay=1e-8, momentum=0.999, foreach=True)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, 'max', patience=1)
    grad_scaler = torch.cuda.amp.GradScaler(enabled=False)
    criterion = nn.CrossEntropyLoss() if model.n_classes > 1 else nn.BCEWithLogitsLoss()
    for step in range(3):
        imgs = images.to(device='cpu', dtype=torch.float64, memory_format=torch.channels_last)
        with torch.autocast('cpu', enabled=False):
            masks_pred = model(imgs)
            loss = criterion(masks_pred, true_masks)
            loss += dice_loss(
                F.softmax(masks_pred, dim=1).float(),
                F.one_hot(true_masks, model.n_classes).permute(0, 3, 1, 2).float(),
                multiclass=True
            )
        optimizer.zero_grad(set_to_none=True)
        grad_scaler.scale(loss).backward()
        grad_scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        grad_scaler.step(optimizer)
        grad_scaler.update()
        print(bilinear, step, round(loss.item(), 5))
    model.eval()
    with torch.no_grad():
        mask_pred = model(images)
        mask_pred_oh = F.one_hot(mask_pred.argmax(dim=1), model.n_classes).permute(0, 3, 1, 2).float()
        dice_score = multiclass_dice_coeff(mask_pred_oh[:, 1:], F.one_hot(true_masks, n_classes).permute(0, 3, 1, 2).float()[:, 1:], reduce_batch_first=False)
    scheduler.step(dice_score)
    print('dice', dice_score.item(), optimizer.param_groups[0]['lr'])
    results[bilinear] = (model, mask_pred, loss.detach())
    full = F.interpolate(mask_pred, (40, 36), mode='bilinear', align_corners=False)
    full_ac = F.interpolate(mask_pred, scale_factor=1.5, mode='bilinear', align_corners=True)
    mask = full.argmax(dim=1)[0].long().squeeze().numpy()
model_t, pred_t, loss_t = results[False]
model_b, pred_b, loss_b = results[True]
"""

# -- a DINO-style ViT (conv patch embedding, cls token, trunc_normal_, DropPath, bicubic pos-embedding interpolation, last self-attention) and a ViT on nn.TransformerEncoder (norm_first, gelu, batch_first, dropout) with an nn.MultiheadAttention pool; the attention's key bias has a zero gradient in exact arithmetic (Adam makes it rounding noise), and Adam's steps on small gradients amplify float32 rounding to 2e-5
VIT = r"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
from functools import partial

def trunc_normal_(tensor, mean=0., std=1., a=-2., b=2.):
    return nn.init.trunc_normal_(tensor, mean=mean, std=std, a=a, b=b)

class PatchEmbed(nn.Module):
    def __init__(self, img_size=16, patch_size=4, in_chans=3, embed_dim=32):
        super().__init__()
        num_patches = (img_size // patch_size) * (img_size // patch_size)
        self.img_size = img_size
        self.patch_size = patch_size
        self.num_patches = num_patches
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        B, C, H, W = x.shape
        x = self.proj(x).flatten(2).transpose(1, 2)
        return x

class Attention(nn.Module):
    def __init__(self, dim, num_heads=8, qkv_bias=False, qk_scale=None, attn_drop=0., proj_drop=0.):
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = qk_scale or head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        attn = self.attn_drop(attn)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        x = self.proj(x)
        x = self.proj_drop(x)
        return x, attn

def drop_path(x, drop_prob: float = 0., training: bool = False):
    if drop_prob == 0. or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    random_tensor = keep_prob + torch.rand(shape, dtype=x.dtype, device=x.device)
    random_tensor.floor_()
    output = x.div(keep_prob) * random_tensor
    return output

class DropPath(nn.Module):
    def __init__(self, drop_prob=None):
        super(DropPath, self).__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training)

class Mlp(nn.Module):
    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, drop=0.):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        x = self.fc1(x)
        x = self.act(x)
        x = self.drop(x)
        x = self.fc2(x)
        x = self.drop(x)
        return x

class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4., qkv_bias=False, qk_scale=None, drop=0., attn_drop=0.,
                 drop_path=0., act_layer=nn.GELU, norm_layer=nn.LayerNorm):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias, qk_scale=qk_scale, attn_drop=attn_drop, proj_drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = norm_layer(dim)
        mlp_hidden_dim = int(dim * mlp_ratio)
        self.mlp = Mlp(in_features=dim, hidden_features=mlp_hidden_dim, act_layer=act_layer, drop=drop)

    def forward(self, x, return_attention=False):
        y, attn = self.attn(self.norm1(x))
        if return_attention:
            return attn
        x = x + self.drop_path(y)
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x

class VisionTransformer(nn.Module):
    # DINO-style Vision Transformer
    def __init__(self, img_size=[16], patch_size=4, in_chans=3, num_classes=5, embed_dim=32, depth=2,
                 num_heads=4, mlp_ratio=4., qkv_bias=False, qk_scale=None, drop_rate=0., attn_drop_rate=0.,
                 drop_path_rate=0., norm_layer=nn.LayerNorm, **kwargs):
        super().__init__()
        self.num_features = self.embed_dim = embed_dim
        self.patch_embed = PatchEmbed(img_size=img_size[0], patch_size=patch_size, in_chans=in_chans, embed_dim=embed_dim)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dim))
        self.pos_drop = nn.Dropout(p=drop_rate)
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, depth)]
        self.blocks = nn.ModuleList([
            Block(dim=embed_dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, qk_scale=qk_scale,
                  drop=drop_rate, attn_drop=attn_drop_rate, drop_path=dpr[i], norm_layer=norm_layer)
            for i in range(depth)])
        self.norm = norm_layer(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()
        trunc_normal_(self.pos_embed, std=.02)
        trunc_normal_(self.cls_token, std=.02)
        self.apply(self._init_weights)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)

    def interpolate_pos_encoding(self, x, w, h):
        npatch = x.shape[1] - 1
        N = self.pos_embed.shape[1] - 1
        if npatch == N and w == h:
            return self.pos_embed
        class_pos_embed = self.pos_embed[:, 0]
        patch_pos_embed = self.pos_embed[:, 1:]
        dim = x.shape[-1]
        w0 = w // self.patch_embed.patch_size
        h0 = h // self.patch_embed.patch_size
        w0, h0 = w0 + 0.1, h0 + 0.1
        patch_pos_embed = nn.functional.interpolate(
            patch_pos_embed.reshape(1, int(math.sqrt(N)), int(math.sqrt(N)), dim).permute(0, 3, 1, 2),
            scale_factor=(w0 / math.sqrt(N), h0 / math.sqrt(N)),
            mode='bicubic',
        )
        assert int(w0) == patch_pos_embed.shape[-2] and int(h0) == patch_pos_embed.shape[-1]
        patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
        return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1)

    def prepare_tokens(self, x):
        B, nc, w, h = x.shape
        x = self.patch_embed(x)
        cls_tokens = self.cls_token.expand(B, -1, -1)
        x = torch.cat((cls_tokens, x), dim=1)
        x = x + self.interpolate_pos_encoding(x, w, h)
        return self.pos_drop(x)

    def forward(self, x):
        x = self.prepare_tokens(x)
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        return self.head(x[:, 0])

    def get_last_selfattention(self, x):
        x = self.prepare_tokens(x)
        for i, blk in enumerate(self.blocks):
            if i < len(self.blocks) - 1:
                x = blk(x)
            else:
                return blk(x, return_attention=True)

# a second ViT built from torch.nn's own encoder (the "vit-pytorch"/tutorial style)
class ViTEncoder(nn.Module):
    def __init__(self, image_size=16, patch_size=4, num_classes=5, dim=32, depth=2, heads=4, mlp_dim=64, dropout=0.1):
        super().__init__()
        self.patch_size = patch_size
        num_patches = (image_size // patch_size) ** 2
        patch_dim = 3 * patch_size ** 2
        self.to_patch_embedding = nn.Sequential(nn.LayerNorm(patch_dim), nn.Linear(patch_dim, dim), nn.LayerNorm(dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, num_patches + 1, dim))
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(d_model=dim, nhead=heads, dim_feedforward=mlp_dim, dropout=dropout,
                                           activation='gelu', batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, num_layers=depth, enable_nested_tensor=False)
        self.attn_pool = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.mlp_head = nn.Linear(dim, num_classes)

    def forward(self, img):
        p = self.patch_size
        b, c, h, w = img.shape
        x = img.unfold(2, p, p).unfold(3, p, p)
        x = x.permute(0, 2, 3, 1, 4, 5).reshape(b, (h // p) * (w // p), c * p * p)
        x = self.to_patch_embedding(x)
        cls_tokens = self.cls_token.repeat(b, 1, 1)
        x = torch.cat((cls_tokens, x), dim=1)
        x += self.pos_embedding[:, :(x.shape[1])]
        x = self.dropout(x)
        x = self.transformer(x)
        q = x[:, :1]
        pooled, weights = self.attn_pool(q, x, x, need_weights=True, average_attn_weights=True)
        return self.mlp_head(pooled.squeeze(1)), weights

torch.manual_seed(0)
model = VisionTransformer(img_size=[16], patch_size=4, drop_path_rate=0.1, drop_rate=0.1, qkv_bias=True,
                          norm_layer=partial(nn.LayerNorm, eps=1e-6))
imgs = torch.randn(4, 3, 16, 16)
labels = torch.tensor([0, 1, 2, 3])
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=10)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
for step in range(3):
    out = model(imgs)
    loss = criterion(out, labels)
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=3.0)
    opt.step()
    sched.step()
    print(step, f"{loss.item():.6f}", sched.get_last_lr())
model.eval()
with torch.no_grad():
    attentions = model.get_last_selfattention(torch.randn(1, 3, 24, 20))
    nh = attentions.shape[1]
    attentions = attentions[0, :, 0, 1:].reshape(nh, -1)
    val, idx = torch.sort(attentions)
    val /= torch.sum(val, dim=1, keepdim=True)
    cumval = torch.cumsum(val, dim=1)
    th_attn = cumval > (1 - 0.6)
    idx2 = torch.argsort(idx)
    for head in range(nh):
        th_attn[head] = th_attn[head][idx2[head]]
print(attentions.shape, th_attn.sum().item())

torch.manual_seed(1)
model2 = ViTEncoder()
opt2 = torch.optim.Adam(model2.parameters(), lr=3e-4)
for step in range(3):
    logits, w = model2(imgs)
    loss2 = F.cross_entropy(logits, labels)
    opt2.zero_grad()
    loss2.backward()
    opt2.step()
    print('vit2', step, round(loss2.item(), 5), w.shape)
model2.eval()
with torch.inference_mode():
    logits_eval, w_eval = model2(imgs)
print(logits_eval.argmax(-1).tolist(), logits_eval.requires_grad, torch.is_inference_mode_enabled())
"""

# -- DDPM (denoising-diffusion-pytorch style): cosine/linear betas, cumprod, extract by gather, sinusoidal time embedding, GroupNorm/SiLU ResNet blocks with scale-shift, linear attention by einsum, EMA via AveragedModel, ancestral and DDIM sampling (x_start predicted and clamped, the posterior mean)
DDPM = r"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

def linear_beta_schedule(timesteps):
    scale = 1000 / timesteps
    beta_start = scale * 0.0001
    beta_end = scale * 0.02
    return torch.linspace(beta_start, beta_end, timesteps, dtype=torch.float64)

def cosine_beta_schedule(timesteps, s=0.008):
    steps = timesteps + 1
    t = torch.linspace(0, timesteps, steps, dtype=torch.float64) / timesteps
    alphas_cumprod = torch.cos((t + s) / (1 + s) * math.pi * 0.5) ** 2
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    betas = 1 - (alphas_cumprod[1:] / alphas_cumprod[:-1])
    return torch.clip(betas, 0, 0.999)

def extract(a, t, x_shape):
    b, *_ = t.shape
    out = a.gather(-1, t)
    return out.reshape(b, *((1,) * (len(x_shape) - 1)))

class SinusoidalPosEmb(nn.Module):
    def __init__(self, dim, theta=10000):
        super().__init__()
        self.dim = dim
        self.theta = theta

    def forward(self, x):
        device = x.device
        half_dim = self.dim // 2
        emb = math.log(self.theta) / (half_dim - 1)
        emb = torch.exp(torch.arange(half_dim, device=device) * -emb)
        emb = x[:, None] * emb[None, :]
        emb = torch.cat((emb.sin(), emb.cos()), dim=-1)
        return emb

class Block(nn.Module):
    def __init__(self, dim, dim_out, groups=4):
        super().__init__()
        self.proj = nn.Conv2d(dim, dim_out, 3, padding=1)
        self.norm = nn.GroupNorm(groups, dim_out)
        self.act = nn.SiLU()

    def forward(self, x, scale_shift=None):
        x = self.proj(x)
        x = self.norm(x)
        if scale_shift is not None:
            scale, shift = scale_shift
            x = x * (scale + 1) + shift
        x = self.act(x)
        return x

class ResnetBlock(nn.Module):
    def __init__(self, dim, dim_out, *, time_emb_dim=None, groups=4):
        super().__init__()
        self.mlp = nn.Sequential(nn.SiLU(), nn.Linear(time_emb_dim, dim_out * 2)) if time_emb_dim is not None else None
        self.block1 = Block(dim, dim_out, groups=groups)
        self.block2 = Block(dim_out, dim_out, groups=groups)
        self.res_conv = nn.Conv2d(dim, dim_out, 1) if dim != dim_out else nn.Identity()

    def forward(self, x, time_emb=None):
        scale_shift = None
        if self.mlp is not None and time_emb is not None:
            time_emb = self.mlp(time_emb)
            time_emb = time_emb[:, :, None, None]
            scale_shift = time_emb.chunk(2, dim=1)
        h = self.block1(x, scale_shift=scale_shift)
        h = self.block2(h)
        return h + self.res_conv(x)

class LinearAttention(nn.Module):
    def __init__(self, dim, heads=2, dim_head=8):
        super().__init__()
        self.scale = dim_head ** -0.5
        self.heads = heads
        hidden_dim = dim_head * heads
        self.to_qkv = nn.Conv2d(dim, hidden_dim * 3, 1, bias=False)
        self.to_out = nn.Sequential(nn.Conv2d(hidden_dim, dim, 1), nn.GroupNorm(1, dim))

    def forward(self, x):
        b, c, h, w = x.shape
        qkv = self.to_qkv(x).chunk(3, dim=1)
        q, k, v = map(lambda t: t.reshape(b, self.heads, -1, h * w), qkv)
        q = q.softmax(dim=-2)
        k = k.softmax(dim=-1)
        q = q * self.scale
        context = torch.einsum('b h d n, b h e n -> b h d e'.replace(' ', '').replace('bhdn,bhen->bhde', 'bhdn,bhen->bhde'), k, v)
        out = torch.einsum('bhde,bhdn->bhen', context, q)
        out = out.reshape(b, -1, h, w)
        return self.to_out(out)

class Unet(nn.Module):
    def __init__(self, dim=8, channels=1):
        super().__init__()
        self.channels = channels
        self.init_conv = nn.Conv2d(channels, dim, 7, padding=3)
        time_dim = dim * 4
        self.time_mlp = nn.Sequential(SinusoidalPosEmb(dim), nn.Linear(dim, time_dim), nn.GELU(), nn.Linear(time_dim, time_dim))
        self.down1 = ResnetBlock(dim, dim, time_emb_dim=time_dim)
        self.downsample = nn.Conv2d(dim, dim * 2, 4, 2, 1)
        self.mid = ResnetBlock(dim * 2, dim * 2, time_emb_dim=time_dim)
        self.mid_attn = LinearAttention(dim * 2)
        self.upsample = nn.Sequential(nn.Upsample(scale_factor=2, mode='nearest'), nn.Conv2d(dim * 2, dim, 3, padding=1))
        self.up1 = ResnetBlock(dim * 2, dim, time_emb_dim=time_dim)
        self.final_conv = nn.Conv2d(dim, channels, 1)

    def forward(self, x, time):
        x = self.init_conv(x)
        r = x.clone()
        t = self.time_mlp(time)
        h = self.down1(x, t)
        x = self.downsample(h)
        x = self.mid(x, t)
        x = x + self.mid_attn(x)
        x = self.upsample(x)
        x = torch.cat((x, h), dim=1)
        x = self.up1(x, t)
        return self.final_conv(x + r)

class GaussianDiffusion(nn.Module):
    def __init__(self, model, image_size, timesteps=20, beta_schedule='cosine'):
        super().__init__()
        self.model = model
        self.image_size = image_size
        betas = linear_beta_schedule(timesteps) if beta_schedule == 'linear' else cosine_beta_schedule(timesteps)
        alphas = 1. - betas
        alphas_cumprod = torch.cumprod(alphas, dim=0)
        alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.)
        self.num_timesteps = int(betas.shape[0])
        register_buffer = lambda name, val: self.register_buffer(name, val.to(torch.float32))
        register_buffer('betas', betas)
        register_buffer('alphas_cumprod', alphas_cumprod)
        register_buffer('alphas_cumprod_prev', alphas_cumprod_prev)
        register_buffer('sqrt_alphas_cumprod', torch.sqrt(alphas_cumprod))
        register_buffer('sqrt_one_minus_alphas_cumprod', torch.sqrt(1. - alphas_cumprod))
        register_buffer('sqrt_recip_alphas', torch.sqrt(1.0 / alphas))
        posterior_variance = betas * (1. - alphas_cumprod_prev) / (1. - alphas_cumprod)
        register_buffer('posterior_variance', posterior_variance)
        register_buffer('posterior_log_variance_clipped', torch.log(posterior_variance.clamp(min=1e-20)))
        register_buffer('sqrt_recip_alphas_cumprod', torch.sqrt(1. / alphas_cumprod))
        register_buffer('sqrt_recipm1_alphas_cumprod', torch.sqrt(1. / alphas_cumprod - 1))
        register_buffer('posterior_mean_coef1', betas * torch.sqrt(alphas_cumprod_prev) / (1. - alphas_cumprod))
        register_buffer('posterior_mean_coef2', (1. - alphas_cumprod_prev) * torch.sqrt(alphas) / (1. - alphas_cumprod))

    def q_sample(self, x_start, t, noise=None):
        noise = noise if noise is not None else torch.randn_like(x_start)
        return (extract(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start +
                extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)

    def p_losses(self, x_start, t, noise=None, loss_type="huber"):
        if noise is None:
            noise = torch.randn_like(x_start)
        x_noisy = self.q_sample(x_start=x_start, t=t, noise=noise)
        predicted_noise = self.model(x_noisy, t)
        if loss_type == 'l1':
            loss = F.l1_loss(noise, predicted_noise)
        elif loss_type == 'l2':
            loss = F.mse_loss(noise, predicted_noise)
        elif loss_type == "huber":
            loss = F.smooth_l1_loss(noise, predicted_noise)
        else:
            raise NotImplementedError()
        return loss

    def forward(self, img, loss_type="huber"):
        b = img.shape[0]
        t = torch.randint(0, self.num_timesteps, (b,), device=img.device).long()
        return self.p_losses(img, t, loss_type=loss_type)

    def predict_start_from_noise(self, x_t, t, noise):
        return (extract(self.sqrt_recip_alphas_cumprod, t, x_t.shape) * x_t -
                extract(self.sqrt_recipm1_alphas_cumprod, t, x_t.shape) * noise)

    def q_posterior(self, x_start, x_t, t):
        posterior_mean = (extract(self.posterior_mean_coef1, t, x_t.shape) * x_start +
                          extract(self.posterior_mean_coef2, t, x_t.shape) * x_t)
        posterior_log_variance_clipped = extract(self.posterior_log_variance_clipped, t, x_t.shape)
        return posterior_mean, posterior_log_variance_clipped

    @torch.no_grad()
    def p_sample(self, x, t, t_index):
        pred_noise = self.model(x, t)
        x_start = self.predict_start_from_noise(x, t, pred_noise)
        x_start.clamp_(-1., 1.)
        model_mean, model_log_variance = self.q_posterior(x_start, x, t)
        noise = torch.randn_like(x) if t_index > 0 else 0.
        return model_mean + (0.5 * model_log_variance).exp() * noise

    @torch.no_grad()
    def p_sample_loop(self, shape):
        device = next(self.model.parameters()).device
        b = shape[0]
        img = torch.randn(shape, device=device)
        imgs = []
        for i in reversed(range(0, self.num_timesteps)):
            img = self.p_sample(img, torch.full((b,), i, device=device, dtype=torch.long), i)
            imgs.append(img.cpu().numpy())
        return imgs

    @torch.inference_mode()
    def ddim_sample(self, shape, sampling_timesteps=5, eta=0.0):
        batch = shape[0]
        times = torch.linspace(-1, self.num_timesteps - 1, steps=sampling_timesteps + 1)
        times = list(reversed(times.int().tolist()))
        time_pairs = list(zip(times[:-1], times[1:]))
        img = torch.randn(shape)
        for time, time_next in time_pairs:
            time_cond = torch.full((batch,), time, dtype=torch.long)
            pred_noise = self.model(img, time_cond)
            alpha = self.alphas_cumprod[time]
            x_start = (img - (1 - alpha).sqrt() * pred_noise) / alpha.sqrt()
            x_start = torch.clamp(x_start, min=-1., max=1.)
            if time_next < 0:
                img = x_start
                continue
            alpha_next = self.alphas_cumprod[time_next]
            sigma = eta * ((1 - alpha / alpha_next) * (1 - alpha_next) / (1 - alpha)).sqrt()
            c = (1 - alpha_next - sigma ** 2).sqrt()
            noise = torch.randn_like(img)
            img = x_start * alpha_next.sqrt() + c * pred_noise + sigma * noise
        img = (img + 1) * 0.5
        return img

torch.manual_seed(1)
model = Unet(dim=8, channels=1)
diffusion = GaussianDiffusion(model, image_size=8, timesteps=20)
data = torch.rand(8, 1, 8, 8) * 2 - 1
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
losses = []
for step in range(4):
    batch = data[step % 2 * 4:(step % 2 + 1) * 4]
    optimizer.zero_grad()
    loss = diffusion(batch, loss_type=["huber", "l2", "l1", "huber"][step])
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print([round(l, 5) for l in losses])
ema = torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9))
ema.update_parameters(model)
samples = diffusion.p_sample_loop(shape=(2, 1, 8, 8))
print(len(samples), samples[-1].shape, samples[-1].dtype)
final = torch.from_numpy(samples[-1])
ddim = diffusion.ddim_sample((2, 1, 8, 8), eta=0.5)
print(ddim.shape, diffusion.betas.dtype, diffusion.alphas_cumprod[:3])
lin = linear_beta_schedule(20)
cos = cosine_beta_schedule(20)
"""

# -- PixelCNN's masked convolution (a mask buffer, weight.data *= mask in forward, pixel-by-pixel sampling with multinomial), a gated masked conv, and WGAN-GP (autograd.grad with create_graph and grad_outputs, norm(2, dim=1), backward(mone), requires_grad toggling)
PIXELCNN_WGAN = r"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import autograd

# -- PixelCNN: masked convolutions (type A for the first layer, B after)
class MaskedConv2d(nn.Conv2d):
    def __init__(self, mask_type, *args, **kwargs):
        super(MaskedConv2d, self).__init__(*args, **kwargs)
        assert mask_type in {'A', 'B'}
        self.register_buffer('mask', self.weight.data.clone())
        _, _, kH, kW = self.weight.size()
        self.mask.fill_(1)
        self.mask[:, :, kH // 2, kW // 2 + (mask_type == 'B'):] = 0
        self.mask[:, :, kH // 2 + 1:] = 0

    def forward(self, x):
        self.weight.data *= self.mask
        return super(MaskedConv2d, self).forward(x)

fm = 8
torch.manual_seed(0)
net = nn.Sequential(
    MaskedConv2d('A', 1,  fm, 7, 1, 3, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
    MaskedConv2d('B', fm, fm, 7, 1, 3, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
    MaskedConv2d('B', fm, fm, 7, 1, 3, bias=False), nn.BatchNorm2d(fm), nn.ReLU(True),
    nn.Conv2d(fm, 256, 1))
print(net[0].mask[0, 0])
sample = torch.Tensor(2, 1, 8, 8)
optimizer = torch.optim.Adam(net.parameters())
data = (torch.rand(4, 1, 8, 8) > 0.5).float()
for step in range(3):
    input = data
    target = (input[:, 0] * 255).long()
    loss = F.cross_entropy(net(input), target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    print('step', step, loss.item())
sample.fill_(0)
net.train(False)
with torch.no_grad():
    for i in range(8):
        for j in range(8):
            out = net(sample)
            probs = F.softmax(out[:, :, i, j], dim=1)
            sample[:, :, i, j] = torch.multinomial(probs, 1).float() / 255.
print(sample.sum().item(), (sample * 255).long().flatten()[:16].tolist())

# gated PixelCNN style mask built with torch.ones and tril/flip, and the weight masked in forward
class GatedMaskedConv(nn.Module):
    def __init__(self, c, k=3):
        super().__init__()
        self.conv = nn.Conv2d(c, 2 * c, k, padding=k // 2)
        mask = torch.ones_like(self.conv.weight)
        mask[:, :, k // 2 + 1:, :] = 0
        mask[:, :, k // 2, k // 2 + 1:] = 0
        self.register_buffer("mask", mask)

    def forward(self, x):
        out = F.conv2d(x, self.conv.weight * self.mask, self.conv.bias, padding=self.conv.padding)
        a, b = out.chunk(2, dim=1)
        return torch.tanh(a) * torch.sigmoid(b)

g = GatedMaskedConv(4)
gx = torch.randn(2, 4, 6, 6, requires_grad=True)
gy = g(gx)
gy.pow(2).mean().backward()

# -- WGAN-GP: critic with LayerNorm, gradient penalty through autograd.grad(create_graph=True)
class Generator(nn.Module):
    def __init__(self, nz=8, dim=16):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(nz, dim), nn.ReLU(True), nn.Linear(dim, dim), nn.ReLU(True), nn.Linear(dim, 2))

    def forward(self, noise):
        return self.main(noise)

class Critic(nn.Module):
    def __init__(self, dim=16):
        super().__init__()
        self.main = nn.Sequential(nn.Linear(2, dim), nn.LayerNorm(dim), nn.LeakyReLU(0.2), nn.Linear(dim, dim), nn.LeakyReLU(0.2), nn.Linear(dim, 1))

    def forward(self, x):
        return self.main(x).view(-1)

def calc_gradient_penalty(netD, real_data, fake_data, LAMBDA=10.):
    alpha = torch.rand(real_data.size(0), 1)
    alpha = alpha.expand(real_data.size())
    interpolates = alpha * real_data + ((1 - alpha) * fake_data)
    interpolates = autograd.Variable(interpolates, requires_grad=True)
    disc_interpolates = netD(interpolates)
    gradients = autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                              grad_outputs=torch.ones(disc_interpolates.size()),
                              create_graph=True, retain_graph=True, only_inputs=True)[0]
    gradient_penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean() * LAMBDA
    return gradient_penalty

def compute_gp(critic, real, fake):
    # the newer spelling: requires_grad_, ones_like, flatten + norm
    eps = torch.rand(real.size(0), 1, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = critic(x_hat)
    grad = torch.autograd.grad(out, x_hat, grad_outputs=torch.ones_like(out), create_graph=True)[0]
    grad = grad.view(grad.size(0), -1)
    return ((grad.norm(2, dim=1) - 1) ** 2).mean()

torch.manual_seed(1)
netG, netD = Generator(), Critic()
optimizerD = torch.optim.Adam(netD.parameters(), lr=1e-4, betas=(0.5, 0.9))
optimizerG = torch.optim.Adam(netG.parameters(), lr=1e-4, betas=(0.5, 0.9))
one = torch.tensor(1, dtype=torch.float)
mone = one * -1
CRITIC_ITERS = 3
real_all = torch.randn(32, 2) * 0.5 + torch.tensor([1.0, -1.0])
for iteration in range(3):
    for p in netD.parameters():
        p.requires_grad = True
    for iter_d in range(CRITIC_ITERS):
        real_data_v = real_all[torch.randint(0, 32, (8,))]
        netD.zero_grad()
        D_real = netD(real_data_v).mean()
        D_real.backward(mone)
        noise = torch.randn(8, 8)
        with torch.no_grad():
            noisev = noise
        fake = netG(noisev).detach()
        D_fake = netD(fake).mean()
        D_fake.backward(one)
        gradient_penalty = calc_gradient_penalty(netD, real_data_v, fake)
        gradient_penalty.backward()
        D_cost = D_fake - D_real + gradient_penalty
        Wasserstein_D = D_real - D_fake
        optimizerD.step()
    for p in netD.parameters():
        p.requires_grad = False
    netG.zero_grad()
    noise = torch.randn(8, 8)
    fake = netG(noise)
    G = netD(fake).mean()
    G.backward(mone)
    G_cost = -G
    optimizerG.step()
    gp2 = compute_gp(netD, real_data_v, fake.detach())
    print(iteration, round(D_cost.item(), 6), round(G_cost.item(), 6), round(Wasserstein_D.item(), 6), round(gp2.item(), 6))
"""

# -- the chatbot tutorial's seq2seq: a bidirectional GRU encoder over a packed batch, a Luong-attention GRU decoder (dot, general, concat scores), a masked NLL, teacher forcing by random.random(); a char-level LSTM LM with pad_sequence, pack_padded_sequence (enforce_sorted both ways), pad_packed_sequence(total_length), ignore_index CE, sampling. The general score's bias has a zero gradient in exact arithmetic (a constant before the softmax): Adam makes it rounding noise
SEQ2SEQ_CHAR_LSTM = r"""
import random
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence, pack_sequence

# -- seq2seq with Luong attention (the chatbot tutorial's shape): bidirectional GRU encoder over
#    a packed batch, a GRU decoder stepping one token at a time, dot/general/concat scores
class EncoderRNN(nn.Module):
    def __init__(self, hidden_size, embedding, n_layers=1, dropout=0):
        super(EncoderRNN, self).__init__()
        self.n_layers = n_layers
        self.hidden_size = hidden_size
        self.embedding = embedding
        self.gru = nn.GRU(hidden_size, hidden_size, n_layers,
                          dropout=(0 if n_layers == 1 else dropout), bidirectional=True)

    def forward(self, input_seq, input_lengths, hidden=None):
        embedded = self.embedding(input_seq)
        packed = nn.utils.rnn.pack_padded_sequence(embedded, input_lengths)
        outputs, hidden = self.gru(packed, hidden)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs)
        outputs = outputs[:, :, :self.hidden_size] + outputs[:, : ,self.hidden_size:]
        return outputs, hidden

class Attn(nn.Module):
    def __init__(self, method, hidden_size):
        super(Attn, self).__init__()
        self.method = method
        self.hidden_size = hidden_size
        if self.method == 'general':
            self.attn = nn.Linear(self.hidden_size, hidden_size)
        elif self.method == 'concat':
            self.attn = nn.Linear(self.hidden_size * 2, hidden_size)
            self.v = nn.Parameter(torch.FloatTensor(hidden_size))
            nn.init.normal_(self.v)

    def dot_score(self, hidden, encoder_output):
        return torch.sum(hidden * encoder_output, dim=2)

    def general_score(self, hidden, encoder_output):
        energy = self.attn(encoder_output)
        return torch.sum(hidden * energy, dim=2)

    def concat_score(self, hidden, encoder_output):
        energy = self.attn(torch.cat((hidden.expand(encoder_output.size(0), -1, -1), encoder_output), 2)).tanh()
        return torch.sum(self.v * energy, dim=2)

    def forward(self, hidden, encoder_outputs):
        if self.method == 'general':
            attn_energies = self.general_score(hidden, encoder_outputs)
        elif self.method == 'concat':
            attn_energies = self.concat_score(hidden, encoder_outputs)
        elif self.method == 'dot':
            attn_energies = self.dot_score(hidden, encoder_outputs)
        attn_energies = attn_energies.t()
        return F.softmax(attn_energies, dim=1).unsqueeze(1)

class LuongAttnDecoderRNN(nn.Module):
    def __init__(self, attn_model, embedding, hidden_size, output_size, n_layers=1, dropout=0.1):
        super(LuongAttnDecoderRNN, self).__init__()
        self.attn_model = attn_model
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.n_layers = n_layers
        self.dropout = dropout
        self.embedding = embedding
        self.embedding_dropout = nn.Dropout(dropout)
        self.gru = nn.GRU(hidden_size, hidden_size, n_layers, dropout=(0 if n_layers == 1 else dropout))
        self.concat = nn.Linear(hidden_size * 2, hidden_size)
        self.out = nn.Linear(hidden_size, output_size)
        self.attn = Attn(attn_model, hidden_size)

    def forward(self, input_step, last_hidden, encoder_outputs):
        embedded = self.embedding(input_step)
        embedded = self.embedding_dropout(embedded)
        rnn_output, hidden = self.gru(embedded, last_hidden)
        attn_weights = self.attn(rnn_output, encoder_outputs)
        context = attn_weights.bmm(encoder_outputs.transpose(0, 1))
        rnn_output = rnn_output.squeeze(0)
        context = context.squeeze(1)
        concat_input = torch.cat((rnn_output, context), 1)
        concat_output = torch.tanh(self.concat(concat_input))
        output = self.out(concat_output)
        output = F.softmax(output, dim=1)
        return output, hidden

def maskNLLLoss(inp, target, mask):
    nTotal = mask.sum()
    crossEntropy = -torch.log(torch.gather(inp, 1, target.view(-1, 1)).squeeze(1))
    loss = crossEntropy.masked_select(mask).mean()
    return loss, nTotal.item()

random.seed(0)
torch.manual_seed(0)
PAD_token, SOS_token, EOS_token = 0, 1, 2
voc_size, hidden_size, batch_size, max_target_len = 20, 12, 4, 5
lengths = torch.tensor([6, 5, 3, 2])
input_variable = torch.zeros(6, batch_size, dtype=torch.long)
for b, L in enumerate(lengths.tolist()):
    input_variable[:L, b] = torch.randint(3, voc_size, (L,))
target_variable = torch.randint(3, voc_size, (max_target_len, batch_size))
target_variable[-1, 2:] = PAD_token
mask = target_variable != PAD_token
results = {}
for attn_model, n_layers in (('dot', 1), ('general', 2), ('concat', 2)):
    embedding = nn.Embedding(voc_size, hidden_size)
    encoder = EncoderRNN(hidden_size, embedding, n_layers, 0.1)
    decoder = LuongAttnDecoderRNN(attn_model, embedding, hidden_size, voc_size, n_layers, 0.1)
    encoder.train(); decoder.train()
    encoder_optimizer = torch.optim.Adam(encoder.parameters(), lr=1e-3)
    decoder_optimizer = torch.optim.Adam(decoder.parameters(), lr=5e-3)
    for it in range(2):
        encoder_optimizer.zero_grad()
        decoder_optimizer.zero_grad()
        loss = 0
        print_losses = []
        n_totals = 0
        encoder_outputs, encoder_hidden = encoder(input_variable, lengths)
        decoder_input = torch.LongTensor([[SOS_token for _ in range(batch_size)]])
        decoder_hidden = encoder_hidden[:decoder.n_layers]
        use_teacher_forcing = True if random.random() < 0.5 else False
        for t in range(max_target_len):
            decoder_output, decoder_hidden = decoder(decoder_input, decoder_hidden, encoder_outputs)
            if use_teacher_forcing:
                decoder_input = target_variable[t].view(1, -1)
            else:
                _, topi = decoder_output.topk(1)
                decoder_input = torch.LongTensor([[topi[i][0] for i in range(batch_size)]])
            mask_loss, nTotal = maskNLLLoss(decoder_output, target_variable[t], mask[t])
            loss += mask_loss
            print_losses.append(mask_loss.item() * nTotal)
            n_totals += nTotal
        loss.backward()
        _ = nn.utils.clip_grad_norm_(encoder.parameters(), 50.0)
        _ = nn.utils.clip_grad_norm_(decoder.parameters(), 50.0)
        encoder_optimizer.step()
        decoder_optimizer.step()
        print(attn_model, it, use_teacher_forcing, sum(print_losses) / n_totals)
    results[attn_model] = (encoder, decoder)

# -- a char-level LSTM language model over variable-length names: pad_sequence, sort by length,
#    pack_padded_sequence (enforce_sorted both ways), pad_packed_sequence, masked CE via ignore_index
class CharLSTM(nn.Module):
    def __init__(self, n_chars, emb=8, hidden=16, layers=2):
        super().__init__()
        self.embed = nn.Embedding(n_chars, emb, padding_idx=0)
        self.lstm = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True, dropout=0.2)
        self.fc = nn.Linear(hidden, n_chars)

    def forward(self, x, lengths, state=None):
        emb = self.embed(x)
        packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, state = self.lstm(packed, state)
        out, out_lengths = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
        return self.fc(out), state, out_lengths

names = ["anna", "bob", "christopher", "dee", "eve", "francesca", "gus"]
chars = sorted(set("".join(names)))
stoi = {c: i + 2 for i, c in enumerate(chars)}
EOS = 1
seqs = [torch.tensor([stoi[c] for c in n] + [EOS]) for n in names]
torch.manual_seed(2)
model = CharLSTM(len(stoi) + 2)
opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, nesterov=True)
for epoch in range(3):
    perm = torch.randperm(len(seqs)).tolist()
    batch = [seqs[i] for i in perm[:5]]
    inputs = pad_sequence([s[:-1] for s in batch], batch_first=True, padding_value=0)
    targets = pad_sequence([s[1:] for s in batch], batch_first=True, padding_value=-100)
    lengths = torch.tensor([len(s) - 1 for s in batch])
    logits, (h, c), out_lengths = model(inputs, lengths)
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_value_(model.parameters(), 0.5)
    opt.step()
    print(epoch, round(loss.item(), 6), out_lengths.tolist(), h.shape)

# the sorted path and pack_sequence, and sampling a name with the hidden state carried along
order = torch.argsort(lengths, descending=True)
packed_sorted = pack_padded_sequence(model.embed(inputs[order]), lengths[order], batch_first=True)
out_sorted, _ = model.lstm(packed_sorted)
print(packed_sorted.batch_sizes.tolist(), out_sorted.data.shape, packed_sorted.sorted_indices)
ps = pack_sequence([s.float().unsqueeze(-1) for s in seqs], enforce_sorted=False)
print(ps.batch_sizes.tolist(), ps.sorted_indices.tolist(), ps.unsorted_indices.tolist())
model.eval()
with torch.no_grad():
    x = torch.tensor([[stoi['a']]])
    state = None
    out_chars = []
    for _ in range(8):
        emb = model.embed(x)
        o, state = model.lstm(emb, state)
        p = F.softmax(model.fc(o[:, -1]) / 0.8, dim=-1)
        x = torch.multinomial(p, 1)
        if x.item() == EOS:
            break
        out_chars.append(x.item())
print(out_chars)
"""

# -- akamaster's CIFAR ResNet (option A: F.pad of x[:, :, ::2, ::2] on the channels; option B), AverageMeter and top-k accuracy, MultiStepLR; pytorch/examples' VAE (reparameterisation, BCE + KL) and a conv VAE with Normal.rsample and kl_divergence
RESNET_CIFAR_VAE = r"""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.init as init
from torch.utils.data import DataLoader, TensorDataset

# -- ResNet for CIFAR written by hand (akamaster/pytorch_resnet_cifar10): option A shortcut
def _weights_init(m):
    classname = m.__class__.__name__
    if isinstance(m, nn.Linear) or isinstance(m, nn.Conv2d):
        init.kaiming_normal_(m.weight)

class LambdaLayer(nn.Module):
    def __init__(self, lambd):
        super(LambdaLayer, self).__init__()
        self.lambd = lambd

    def forward(self, x):
        return self.lambd(x)

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, option='A'):
        super(BasicBlock, self).__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            if option == 'A':
                self.shortcut = LambdaLayer(lambda x:
                                            F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes//4, planes//4), "constant", 0))
            elif option == 'B':
                self.shortcut = nn.Sequential(
                     nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride, bias=False),
                     nn.BatchNorm2d(self.expansion * planes)
                )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        out = F.relu(out)
        return out

class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=10, option='A'):
        super(ResNet, self).__init__()
        self.in_planes = 4
        self.conv1 = nn.Conv2d(3, 4, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.layer1 = self._make_layer(block, 4, num_blocks[0], stride=1, option=option)
        self.layer2 = self._make_layer(block, 8, num_blocks[1], stride=2, option=option)
        self.layer3 = self._make_layer(block, 16, num_blocks[2], stride=2, option=option)
        self.linear = nn.Linear(16, num_classes)
        self.apply(_weights_init)

    def _make_layer(self, block, planes, num_blocks, stride, option):
        strides = [stride] + [1]*(num_blocks-1)
        layers = []
        for stride in strides:
            layers.append(block(self.in_planes, planes, stride, option))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer1(out)
        out = self.layer2(out)
        out = self.layer3(out)
        out = F.avg_pool2d(out, out.size()[3])
        out = out.view(out.size(0), -1)
        out = self.linear(out)
        return out

class AverageMeter(object):
    def __init__(self):
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

def accuracy(output, target, topk=(1,)):
    maxk = max(topk)
    batch_size = target.size(0)
    _, pred = output.topk(maxk, 1, True, True)
    pred = pred.t()
    correct = pred.eq(target.view(1, -1).expand_as(pred))
    res = []
    for k in topk:
        correct_k = correct[:k].reshape(-1).float().sum(0)
        res.append(correct_k.mul_(100.0 / batch_size))
    return res

torch.manual_seed(0)
images = torch.randn(16, 3, 16, 16)
labels = torch.randint(0, 10, (16,))
loader = DataLoader(TensorDataset(images, labels), batch_size=8, shuffle=True)
nets = {}
for option in ('A', 'B'):
    model = ResNet(BasicBlock, [1, 1, 1], option=option)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
    lr_scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[1, 2], last_epoch=-1)
    for epoch in range(2):
        losses, top1 = AverageMeter(), AverageMeter()
        model.train()
        for i, (input, target) in enumerate(loader):
            output = model(input)
            loss = criterion(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            output = output.float()
            loss = loss.float()
            prec1 = accuracy(output.data, target)[0]
            losses.update(loss.item(), input.size(0))
            top1.update(prec1.item(), input.size(0))
        lr_scheduler.step()
        print(option, epoch, f'Loss {losses.val:.4f} ({losses.avg:.4f})', f'Prec@1 {top1.val:.3f} ({top1.avg:.3f})', optimizer.param_groups[0]['lr'])
    model.eval()
    with torch.no_grad():
        top1_eval, top3_eval = accuracy(model(images), labels, topk=(1, 3))
    nets[option] = model
    print(option, top1_eval.item(), top3_eval.item(), sum(p.numel() for p in model.parameters() if p.requires_grad))

# -- VAE (pytorch/examples vae, shrunk), with the reparameterisation trick and the KL term
class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc21 = nn.Linear(32, 4)
        self.fc22 = nn.Linear(32, 4)
        self.fc3 = nn.Linear(4, 32)
        self.fc4 = nn.Linear(32, 64)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5*logvar)
        eps = torch.randn_like(std)
        return mu + eps*std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 64))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar

def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction='sum')
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD

# a convolutional VAE with a beta-weighted KL from torch.distributions
class ConvVAE(nn.Module):
    def __init__(self, z=4):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, 4, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(4, 8, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten())
        self.mu = nn.Linear(8 * 2 * 2, z)
        self.logvar = nn.Linear(8 * 2 * 2, z)
        self.dec_in = nn.Linear(z, 8 * 2 * 2)
        self.dec = nn.Sequential(nn.Unflatten(1, (8, 2, 2)), nn.ConvTranspose2d(8, 4, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(4, 1, 4, 2, 1))

    def forward(self, x):
        h = self.enc(x)
        mu, logvar = self.mu(h), self.logvar(h).clamp(-10, 10)
        q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
        z = q.rsample()
        p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        kl = torch.distributions.kl_divergence(q, p).sum(-1).mean()
        return self.dec(self.dec_in(z)), kl

torch.manual_seed(1)
model_vae = VAE()
optimizer_vae = torch.optim.Adam(model_vae.parameters(), lr=1e-3)
data = torch.rand(24, 1, 8, 8)
train_loader = DataLoader(TensorDataset(data, torch.zeros(24)), batch_size=8, shuffle=True)
for epoch in range(1, 3):
    model_vae.train()
    train_loss = 0
    for batch_idx, (x, _) in enumerate(train_loader):
        optimizer_vae.zero_grad()
        recon_batch, mu, logvar = model_vae(x)
        loss = loss_function(recon_batch, x, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer_vae.step()
    print('====> Epoch: {} Average loss: {:.4f}'.format(epoch, train_loss / len(train_loader.dataset)))
with torch.no_grad():
    sample = torch.randn(4, 4)
    sample = model_vae.decode(sample).cpu()
    print(sample.view(4, 1, 8, 8).shape, sample.mean().item())

cvae = ConvVAE()
opt_c = torch.optim.AdamW(cvae.parameters(), lr=2e-3)
for step in range(3):
    recon, kl = cvae(data[:8])
    rec = F.mse_loss(recon, data[:8], reduction='sum') / 8
    loss_c = rec + 0.5 * kl
    opt_c.zero_grad()
    loss_c.backward()
    opt_c.step()
    print('cvae', step, round(rec.item(), 5), round(kl.item(), 6))
"""

# -- a Siamese network with the contrastive loss (a BatchNorm encoder run twice before one backward), a triplet network (TripletMarginLoss, batch-hard mining by cdist, CosineEmbeddingLoss, triplet_margin_with_distance_loss), a mixture density network (by hand, by logsumexp and by MixtureSameFamily), RealNVP with a MultivariateNormal prior and an affine flow by TransformedDistribution; in float64 (the contrastive loss's Adam steps amplify float32 rounding past 1e-5)
METRIC_LEARNING_MDN_FLOW = r"""
import math
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.distributions as D
from torch.utils.data import Dataset, DataLoader

# -- a Siamese network with the contrastive loss (Hadsell et al.), as the popular repos write it
class SiameseNetwork(nn.Module):
    def __init__(self):
        super(SiameseNetwork, self).__init__()
        self.cnn1 = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(1, 4, kernel_size=3), nn.ReLU(inplace=True), nn.BatchNorm2d(4),
            nn.ReflectionPad2d(1), nn.Conv2d(4, 8, kernel_size=3), nn.ReLU(inplace=True), nn.BatchNorm2d(8),
        )
        self.fc1 = nn.Sequential(nn.Linear(8 * 6 * 6, 32), nn.ReLU(inplace=True), nn.Linear(32, 5))

    def forward_once(self, x):
        output = self.cnn1(x)
        output = output.view(output.size()[0], -1)
        output = self.fc1(output)
        return output

    def forward(self, input1, input2):
        output1 = self.forward_once(input1)
        output2 = self.forward_once(input2)
        return output1, output2

class ContrastiveLoss(torch.nn.Module):
    def __init__(self, margin=2.0):
        super(ContrastiveLoss, self).__init__()
        self.margin = margin

    def forward(self, output1, output2, label):
        euclidean_distance = F.pairwise_distance(output1, output2, keepdim=True)
        loss_contrastive = torch.mean((1 - label) * torch.pow(euclidean_distance, 2) +
                                      (label) * torch.pow(torch.clamp(self.margin - euclidean_distance, min=0.0), 2))
        return loss_contrastive

class PairDataset(Dataset):
    def __init__(self, images, classes):
        self.images, self.classes = images, classes

    def __getitem__(self, index):
        img0 = self.images[index]
        should_get_same_class = index % 2
        j = (index + 3) % len(self.images)
        img1 = self.images[j]
        label = torch.from_numpy(np.array([int(self.classes[index] != self.classes[j])], dtype=np.float32))
        return img0, img1, label

    def __len__(self):
        return len(self.images)

torch.set_default_dtype(torch.float64)  # (the contrastive loss's Adam steps amplify float32 rounding)
torch.manual_seed(0)
imgs = torch.rand(12, 1, 6, 6)
classes = [i % 3 for i in range(12)]
net = SiameseNetwork()
criterion = ContrastiveLoss()
optimizer = torch.optim.Adam(net.parameters(), lr=0.0005)
train_dataloader = DataLoader(PairDataset(imgs, classes), shuffle=True, num_workers=0, batch_size=4)
counter, loss_history = [], []
iteration_number = 0
for epoch in range(2):
    for i, data in enumerate(train_dataloader, 0):
        img0, img1, label = data
        optimizer.zero_grad()
        output1, output2 = net(img0, img1)
        loss_contrastive = criterion(output1, output2, label)
        loss_contrastive.backward()
        optimizer.step()
        if i % 2 == 0:
            print("Epoch number {}\n Current loss {}\n".format(epoch, loss_contrastive.item()))
            iteration_number += 2
            counter.append(iteration_number)
            loss_history.append(loss_contrastive.item())
net.eval()
with torch.no_grad():
    o1, o2 = net(imgs[:3], imgs[3:6])
    dissimilarity = F.pairwise_distance(o1, o2)
print(dissimilarity)

# -- a triplet network: TripletMarginLoss, the hand-written one with batch-hard mining, cosine
#    embedding loss and L2-normalised embeddings
class EmbeddingNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.convnet = nn.Sequential(nn.Conv2d(1, 4, 3), nn.PReLU(), nn.MaxPool2d(2, stride=2))
        self.fc = nn.Sequential(nn.Linear(4 * 2 * 2, 16), nn.PReLU(), nn.Linear(16, 4))

    def forward(self, x):
        output = self.convnet(x)
        output = output.view(output.size()[0], -1)
        output = self.fc(output)
        return output

    def get_embedding(self, x):
        return F.normalize(self.forward(x), p=2, dim=1)

def batch_hard_triplet_loss(embeddings, labels, margin=0.3):
    dist = torch.cdist(embeddings, embeddings, p=2)
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    eye = torch.eye(len(labels), dtype=torch.bool)
    hardest_pos = (dist * (same & ~eye).float()).max(dim=1)[0]
    max_dist = dist.max(dim=1, keepdim=True)[0]
    hardest_neg = (dist + max_dist * same.float()).min(dim=1)[0]
    return F.relu(hardest_pos - hardest_neg + margin).mean()

torch.manual_seed(1)
emb_net = EmbeddingNet()
trip = nn.TripletMarginLoss(margin=1.0, p=2)
cos_loss = nn.CosineEmbeddingLoss(margin=0.1)
opt2 = torch.optim.SGD(emb_net.parameters(), lr=0.05, momentum=0.9)
sched2 = torch.optim.lr_scheduler.StepLR(opt2, 1, gamma=0.5)
lab = torch.tensor(classes)
for step in range(3):
    anchor, positive, negative = imgs[0:4], imgs[3:7], imgs[1:5]
    ea, ep, en = emb_net(anchor), emb_net(positive), emb_net(negative)
    l1 = trip(ea, ep, en)
    l2 = batch_hard_triplet_loss(emb_net.get_embedding(imgs), lab)
    l3 = cos_loss(ea, en, torch.tensor([1, -1, 1, -1]))
    l4 = F.triplet_margin_with_distance_loss(ea, ep, en, distance_function=lambda a, b: 1.0 - F.cosine_similarity(a, b), margin=0.5, swap=True)
    loss_t = l1 + l2 + l3 + l4
    opt2.zero_grad()
    loss_t.backward()
    opt2.step()
    sched2.step()
    print(step, [round(v.item(), 6) for v in (l1, l2, l3, l4)])

# -- a mixture density network (Bishop): pi, sigma, mu heads, the mixture's log-likelihood by
#    logsumexp, and by torch.distributions.MixtureSameFamily; sampling from the mixture
class MDN(nn.Module):
    def __init__(self, n_hidden=16, n_gaussians=3):
        super(MDN, self).__init__()
        self.z_h = nn.Sequential(nn.Linear(1, n_hidden), nn.Tanh())
        self.z_pi = nn.Linear(n_hidden, n_gaussians)
        self.z_sigma = nn.Linear(n_hidden, n_gaussians)
        self.z_mu = nn.Linear(n_hidden, n_gaussians)

    def forward(self, x):
        z_h = self.z_h(x)
        pi = F.softmax(self.z_pi(z_h), -1)
        sigma = torch.exp(self.z_sigma(z_h))
        mu = self.z_mu(z_h)
        return pi, sigma, mu

oneDivSqrtTwoPI = 1.0 / np.sqrt(2.0 * np.pi)
def gaussian_distribution(y, mu, sigma):
    result = (y.expand_as(mu) - mu) * torch.reciprocal(sigma)
    result = - 0.5 * (result * result)
    return (torch.exp(result) * torch.reciprocal(sigma)) * oneDivSqrtTwoPI

def mdn_loss_fn(pi, sigma, mu, y):
    result = gaussian_distribution(y, mu, sigma) * pi
    result = torch.sum(result, dim=1)
    result = -torch.log(result)
    return torch.mean(result)

torch.manual_seed(2)
n_samples = 64
y_data = torch.rand(n_samples, 1) * 2 - 1
x_data = torch.sin(3 * y_data) + 0.1 * torch.randn(n_samples, 1)
mdn = MDN()
opt3 = torch.optim.Adam(mdn.parameters(), lr=0.01)
for epoch in range(4):
    pi, sigma, mu = mdn(x_data)
    loss_mdn = mdn_loss_fn(pi, sigma, mu, y_data)
    mix = D.MixtureSameFamily(D.Categorical(probs=pi), D.Normal(mu, sigma))
    nll_dist = -mix.log_prob(y_data.squeeze(1)).mean()
    log_pi = torch.log_softmax(mdn.z_pi(mdn.z_h(x_data)), -1)
    nll_lse = -torch.logsumexp(log_pi + D.Normal(mu, sigma).log_prob(y_data), dim=1).mean()
    opt3.zero_grad()
    loss_mdn.backward()
    opt3.step()
    print(epoch, round(loss_mdn.item(), 6), round(nll_dist.item(), 6), round(nll_lse.item(), 6))
with torch.no_grad():
    pi, sigma, mu = mdn(torch.linspace(-1, 1, 5).unsqueeze(1))
    k = torch.multinomial(pi, 1).squeeze(1)
    draws = torch.normal(mu.gather(1, k[:, None]).squeeze(1), sigma.gather(1, k[:, None]).squeeze(1))
    draws2 = D.MixtureSameFamily(D.Categorical(probs=pi), D.Normal(mu, sigma)).sample((2,))
print(k.tolist(), draws.shape, draws2.shape)

# -- a normalising flow: RealNVP coupling layers with a checkerboard mask, the base distribution
#    a MultivariateNormal, log_prob by the change of variables, sampling by the inverse
class RealNVP(nn.Module):
    def __init__(self, nets, nett, mask, prior):
        super(RealNVP, self).__init__()
        self.prior = prior
        self.mask = nn.Parameter(mask, requires_grad=False)
        self.t = torch.nn.ModuleList([nett() for _ in range(len(mask))])
        self.s = torch.nn.ModuleList([nets() for _ in range(len(mask))])

    def g(self, z):
        x = z
        for i in range(len(self.t)):
            x_ = x*self.mask[i]
            s = self.s[i](x_)*(1 - self.mask[i])
            t = self.t[i](x_)*(1 - self.mask[i])
            x = x_ + (1 - self.mask[i]) * (x * torch.exp(s) + t)
        return x

    def f(self, x):
        log_det_J, z = x.new_zeros(x.shape[0]), x
        for i in reversed(range(len(self.t))):
            z_ = self.mask[i] * z
            s = self.s[i](z_) * (1-self.mask[i])
            t = self.t[i](z_) * (1-self.mask[i])
            z = (1 - self.mask[i]) * (z - t) * torch.exp(-s) + z_
            log_det_J -= s.sum(dim=1)
        return z, log_det_J

    def log_prob(self,x):
        z, logp = self.f(x)
        return self.prior.log_prob(z) + logp

    def sample(self, batchSize):
        z = self.prior.sample((batchSize, 1))
        logp = self.prior.log_prob(z)
        x = self.g(z)
        return x

torch.manual_seed(3)
nets = lambda: nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(), nn.Linear(16, 16), nn.LeakyReLU(), nn.Linear(16, 2), nn.Tanh())
nett = lambda: nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(), nn.Linear(16, 16), nn.LeakyReLU(), nn.Linear(16, 2))
masks = torch.from_numpy(np.array([[0, 1], [1, 0]] * 2).astype(np.float32))
prior = D.MultivariateNormal(torch.zeros(2), torch.eye(2))
flow = RealNVP(nets, nett, masks, prior)
optimizer_flow = torch.optim.Adam([p for p in flow.parameters() if p.requires_grad==True], lr=1e-4)
moons = torch.cat([torch.stack([torch.cos(th), torch.sin(th)], 1) for th in (torch.rand(2, 32) * math.pi)]) * torch.tensor([1.0, 0.5]) + 0.05 * torch.randn(64, 2)
for t in range(4):
    loss_flow = -flow.log_prob(moons).mean()
    optimizer_flow.zero_grad()
    loss_flow.backward(retain_graph=True)
    optimizer_flow.step()
    print('iter %s:' % t, 'loss = %.3f' % loss_flow)
x_gen = flow.sample(8)
print(x_gen.shape)

# a planar flow step on a diagonal Gaussian with TransformedDistribution and an affine transform
base = D.Independent(D.Normal(torch.zeros(2), torch.ones(2)), 1)
loc = nn.Parameter(torch.zeros(2))
log_scale = nn.Parameter(torch.zeros(2))
opt4 = torch.optim.Adam([loc, log_scale], lr=0.05)
for step in range(3):
    td = D.TransformedDistribution(base, [D.transforms.AffineTransform(loc, log_scale.exp(), event_dim=1)])
    loss_td = -td.log_prob(moons).mean()
    opt4.zero_grad()
    loss_td.backward()
    opt4.step()
    print('affine', step, round(loss_td.item(), 6))
"""

# -- idioms around the models: nanoGPT's TF32/cudnn switches, scaled_dot_product_attention with bool and float masks, scale, dropout and is_causal, generate_square_subsequent_mask, a hinge-loss GAN step with spectral_norm (old and parametrizations) and weight_norm, orthogonal_/xavier_uniform_ with calculate_gain, gradient checkpointing, LambdaLR warmup, CosineAnnealingWarmRestarts stepped by fractional epochs, an EMA by lerp_ and torch._foreach_mul_/_foreach_add_, the STN tutorial's affine_grid/grid_sample, and torch.compile's wrapper (state_dict keys under _orig_mod.)
TRAINING_IDIOMS = r"""
import copy
import math
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
torch.backends.cudnn.benchmark = True
torch.set_float32_matmul_precision('high')
torch.cuda.manual_seed_all(0)
torch.manual_seed(0)

# SDPA with a float mask, a bool mask, dropout, and a causal decoder's generate_square_subsequent_mask
q, k, v = torch.randn(2, 3, 5, 4), torch.randn(2, 3, 6, 4), torch.randn(2, 3, 6, 4)
bool_mask = torch.rand(5, 6) > 0.3
float_mask = torch.randn(2, 1, 5, 6)
y1 = F.scaled_dot_product_attention(q, k, v, attn_mask=bool_mask)
y2 = F.scaled_dot_product_attention(q, k, v, attn_mask=float_mask, scale=0.3)
y3 = F.scaled_dot_product_attention(q, k, v, dropout_p=0.2)
y4 = F.scaled_dot_product_attention(q, k[:, :, :5], v[:, :, :5], is_causal=True)
causal = nn.Transformer.generate_square_subsequent_mask(5)
print(causal)

# a DCGAN discriminator with spectral norm, a weight-normed generator layer, orthogonal/xavier init
class D(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.utils.spectral_norm(nn.Conv2d(3, 8, 4, 2, 1))
        self.c2 = nn.utils.parametrizations.spectral_norm(nn.Conv2d(8, 8, 4, 2, 1))
        self.fc = nn.utils.spectral_norm(nn.Linear(8 * 2 * 2, 1))

    def forward(self, x):
        x = F.leaky_relu(self.c1(x), 0.1)
        x = F.leaky_relu(self.c2(x), 0.1)
        return self.fc(x.flatten(1))

class G(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.utils.parametrizations.weight_norm(nn.Linear(4, 3 * 8 * 8))
        self.conv = nn.utils.weight_norm(nn.Conv2d(3, 3, 3, padding=1))
        nn.init.orthogonal_(self.conv.weight_v)
        nn.init.xavier_uniform_(self.fc.parametrizations.weight.original1, gain=nn.init.calculate_gain('relu'))

    def forward(self, z):
        return torch.tanh(self.conv(F.relu(self.fc(z)).view(-1, 3, 8, 8)))

netD, netG = D(), G()
optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.0, 0.9))
optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.0, 0.9))
real = torch.rand(4, 3, 8, 8) * 2 - 1
for step in range(2):
    z = torch.randn(4, 4)
    fake = netG(z)
    d_loss = F.relu(1.0 - netD(real)).mean() + F.relu(1.0 + netD(fake.detach())).mean()
    optD.zero_grad(); d_loss.backward(); optD.step()
    g_loss = -netD(fake).mean()
    optG.zero_grad(); g_loss.backward(); optG.step()
    print('hinge', step, round(d_loss.item(), 6), round(g_loss.item(), 6))
netD.eval()
with torch.no_grad():
    d_eval = netD(real)

# gradient checkpointing, LambdaLR warmup, CosineAnnealingWarmRestarts, EMA by lerp_ and _foreach
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Sequential(nn.Linear(8, 8), nn.GELU(), nn.Dropout(0.1)) for _ in range(3)])
        self.head = nn.Linear(8, 3)

    def forward(self, x, use_ckpt=True):
        for b in self.blocks:
            x = x + (checkpoint(b, x, use_reentrant=False) if use_ckpt else b(x))
        return self.head(x)

net = Net()
ema = copy.deepcopy(net).eval()
for p in ema.parameters():
    p.requires_grad_(False)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
warm = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 3))
x = torch.randn(6, 8)
t = torch.randint(0, 3, (6,))
for step in range(4):
    loss = F.cross_entropy(net(x, use_ckpt=step % 2 == 0), t, label_smoothing=0.1)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    warm.step()
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), net.parameters()):
            pe.lerp_(pm, 0.1)
        ema_params = list(ema.parameters())
        torch._foreach_mul_(ema_params, 0.999)
        torch._foreach_add_(ema_params, list(net.parameters()), alpha=0.001)
    print('ckpt', step, round(loss.item(), 6), warm.get_last_lr())
opt2 = torch.optim.AdamW(net.parameters(), lr=1e-3)
cos = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt2, T_0=2, T_mult=2, eta_min=1e-5)
lrs = []
for epoch in range(6):
    for i in range(2):
        cos.step(epoch + i / 2)
        lrs.append(round(opt2.param_groups[0]['lr'], 10))
print(lrs)

# a spatial transformer network (the official STN tutorial's localisation net), affine_grid + grid_sample
class STN(nn.Module):
    def __init__(self):
        super().__init__()
        self.localization = nn.Sequential(nn.Conv2d(1, 4, kernel_size=3), nn.MaxPool2d(2, stride=2), nn.ReLU(True))
        self.fc_loc = nn.Sequential(nn.Linear(4 * 3 * 3, 8), nn.ReLU(True), nn.Linear(8, 3 * 2))
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    def forward(self, x):
        xs = self.localization(x)
        xs = xs.view(-1, 4 * 3 * 3)
        theta = self.fc_loc(xs)
        theta = theta.view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False), theta

stn = STN()
imgs = torch.rand(2, 1, 8, 8)
opt3 = torch.optim.SGD(stn.parameters(), lr=0.05)
for step in range(3):
    out, theta = stn(imgs)
    loss3 = F.mse_loss(out, imgs.flip(-1))
    opt3.zero_grad(); loss3.backward(); opt3.step()
    print('stn', step, round(loss3.item(), 7))
rot = torch.tensor([[[math.cos(0.3), -math.sin(0.3), 0.1], [math.sin(0.3), math.cos(0.3), -0.2]]]).repeat(2, 1, 1)
grid = F.affine_grid(rot, (2, 1, 8, 8), align_corners=True)
warped = [F.grid_sample(imgs, grid, mode=m, padding_mode=pm, align_corners=True) for m in ('bilinear', 'nearest') for pm in ('zeros', 'border', 'reflection')]
compiled = torch.compile(stn)
"""


CASES = {
    "nanogpt": (NANOGPT, {}),
    "mingpt": (MINGPT, {}),
    "unet": (UNET, {"floats": "float64", "tols": {"float64": (1e-05, 1e-06)}}),
    "vit": (VIT, {"ignore": "qkv\\.bias|in_proj_bias", "tols": {"float32": (0.0001, 1e-05)}}),
    # the sampler adds a fresh randn every step; float32 normals are within 3 ulp of PyTorch's
    # (NumPy's log/sin/cos against SLEEF's), which reaches ~1e-6 absolute in a sample near 0
    "ddpm": (DDPM, {"tols": {"float32": (2e-05, 3e-06)}}),
    "pixelcnn_wgan": (PIXELCNN_WGAN, {}),
    "seq2seq_char_lstm": (SEQ2SEQ_CHAR_LSTM, {"ignore": "attn\\.attn\\.bias"}),
    "resnet_cifar_vae": (RESNET_CIFAR_VAE, {}),
    "metric_learning_mdn_flow": (
        METRIC_LEARNING_MDN_FLOW,
        {"floats": "float64", "tols": {"float64": (1e-08, 1e-10)}},
    ),
    "training_idioms": (TRAINING_IDIOMS, {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_model(name, monkeypatch):
    src, options = CASES[name]
    try:
        compare_runs([src], monkeypatch, **{"floats": "float32", **options})
    finally:  # (a program may switch to float64; the next test starts from the default again)
        torch.set_default_dtype(torch.float32)
        tinyconv.set_default_dtype(tinyconv.float32)
