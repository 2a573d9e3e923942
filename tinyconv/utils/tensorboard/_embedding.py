"""The files of TensorBoard's embedding projector, as PyTorch's add_embedding writes them:

    {log_dir}/{step:05d}/{tag}/tensors.tsv     one row of the matrix a line, tab-separated
    {log_dir}/{step:05d}/{tag}/metadata.tsv    one label a line (a header line first when
                                               the labels are rows of several columns)
    {log_dir}/{step:05d}/{tag}/sprite.png      the label images on a square grid
    {log_dir}/projector_config.pbtxt           one `embeddings { ... }` block per call,
                                               in protobuf text format

The projector reads these, not the event file."""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import numpy as np

from . import _summary


def _quote_text(value: str) -> str:
    # a protobuf text-format string literal (non-ASCII stays as UTF-8, as PyTorch's)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _folder_name(tag: str) -> str:
    # the tag as one folder name: '%' and the path separators escaped
    return tag.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")


def _sprite(label_img: np.ndarray) -> np.ndarray:
    """(N, C, H, W) images on a grid of ceil(sqrt(N)) columns, in a square canvas (zeros
    below the last row), as (side, side, 3) uint8."""
    n = label_img.shape[0]
    cols = math.ceil(n**0.5)
    if label_img.shape[1] == 1:
        label_img = np.concatenate([label_img] * 3, axis=1)
    _, c, h, w = label_img.shape
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * h, cols * w, c), np.float64)
    for i in range(n):
        r, q = divmod(i, cols)
        grid[r * h : (r + 1) * h, q * w : (q + 1) * w] = label_img[i].transpose(1, 2, 0)
    side = max(grid.shape[0], grid.shape[1])
    square = np.zeros((side, side, c), np.float64)
    square[: grid.shape[0], : grid.shape[1]] = grid
    return (square * 255).clip(0, 255).astype(np.uint8)


def write_embedding(
    log_dir: str,
    mat: Any,
    metadata: Any = None,
    label_img: Any = None,
    global_step: int = 0,
    tag: str = "default",
    metadata_header: Any = None,
) -> None:
    """Writes the projector files of one embedding (see the module docstring)."""
    matrix = _summary.as_numpy(mat, "add_embedding: mat")
    if matrix.ndim != 2:
        raise ValueError(f"add_embedding: mat must be 2-D (N, D), got shape {tuple(matrix.shape)}")
    if metadata is not None and len(metadata) != matrix.shape[0]:
        raise ValueError(
            f"add_embedding: metadata has {len(metadata)} labels but mat has {matrix.shape[0]} rows"
        )
    images = None
    if label_img is not None:
        images = _summary.as_numpy(label_img, "add_embedding: label_img")
        if (
            images.ndim != 4
            or images.shape[0] != matrix.shape[0]
            or images.shape[1]
            not in (
                1,
                3,
            )
        ):
            raise ValueError(
                f"add_embedding: label_img must be (N, C, H, W) with N = {matrix.shape[0]} "
                f"rows of mat and C 1 or 3, got shape {tuple(images.shape)}"
            )
    subdir = f"{str(global_step).zfill(5)}/{_folder_name(tag)}"
    folder = os.path.join(log_dir, subdir)
    if os.path.exists(folder):
        warnings.warn(
            f"add_embedding: {folder} exists and is overwritten (give each call its own "
            "global_step or tag)",
            stacklevel=3,
        )
    os.makedirs(folder, exist_ok=True)
    block = ["embeddings {", f"  tensor_name: {_quote_text(f'{tag}:{str(global_step).zfill(5)}')}"]
    if metadata is not None:
        with open(os.path.join(folder, "metadata.tsv"), "w", encoding="utf-8") as f:
            if metadata_header is not None:
                f.write("\t".join(str(h) for h in metadata_header) + "\n")
                for row in metadata:
                    f.write("\t".join(str(x) for x in row) + "\n")
            else:
                for label in metadata:
                    f.write(f"{label}\n")
        block.append(f"  metadata_path: {_quote_text(subdir + '/metadata.tsv')}")
    if images is not None:
        png = _summary.encode_png(_sprite(images))
        with open(os.path.join(folder, "sprite.png"), "wb") as f:
            f.write(png)
        h, w = images.shape[2], images.shape[3]
        block += [
            "  sprite {",
            f"    image_path: {_quote_text(subdir + '/sprite.png')}",
            f"    single_image_dim: {w}",
            f"    single_image_dim: {h}",
            "  }",
        ]
    with open(os.path.join(folder, "tensors.tsv"), "w", encoding="utf-8") as f:
        for row in matrix.tolist():
            f.write("\t".join(str(x) for x in row) + "\n")
    block += [f"  tensor_path: {_quote_text(subdir + '/tensors.tsv')}", "}"]
    with open(os.path.join(log_dir, "projector_config.pbtxt"), "a", encoding="utf-8") as f:
        f.write("\n".join(block) + "\n")
