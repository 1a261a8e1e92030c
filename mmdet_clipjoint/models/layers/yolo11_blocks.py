# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The building blocks of YOLO11 (Ultralytics, 2024), written for mmdet.

Written from the architecture facts in the project's ``YOLO11.md`` (the
reference implementation is AGPL-3.0 and was not copied). Every "Conv" of
the original is an mmcv :class:`~mmcv.cnn.ConvModule` (Conv2d without bias,
BatchNorm eps 1e-3 momentum 0.03, SiLU), so the parameter names are
``<name>.conv.weight`` / ``<name>.bn.*``;
:mod:`mmdet_clipjoint.models.utils.yolo11_convert` maps an Ultralytics
state dict onto these modules.
"""
import math
from typing import Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig

__all__ = [
    'YOLO11_NORM', 'YOLO11_ACT', 'yolo11_conv', 'YOLO11Bottleneck', 'C3k',
    'C3k2', 'SPPF', 'PSAAttention', 'PSABlock', 'C2PSA', 'scale_channels',
    'scale_depth', 'YOLO11_ARCH', 'yolo11_arch'
]

#: the norm / activation of every YOLO11 conv
YOLO11_NORM = dict(type='BN', momentum=0.03, eps=0.001)
YOLO11_ACT = dict(type='SiLU', inplace=True)


def yolo11_conv(in_channels: int,
                out_channels: int,
                kernel_size: int = 1,
                stride: int = 1,
                groups: int = 1,
                act: bool = True,
                norm_cfg: ConfigType = YOLO11_NORM,
                act_cfg: ConfigType = YOLO11_ACT) -> ConvModule:
    """YOLO's ``Conv``: Conv2d (no bias, padding k // 2) + BN (+ SiLU).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Square kernel size.
        stride (int): Stride.
        groups (int): Conv groups (``in_channels`` for depthwise).
        act (bool): Whether the activation is applied.
        norm_cfg (dict): Norm config.
        act_cfg (dict): Activation config (ignored when ``act`` is False).

    Returns:
        ConvModule: maps (B, in_channels, H, W) to
        (B, out_channels, H / stride, W / stride).
    """
    return ConvModule(
        in_channels,
        out_channels,
        kernel_size,
        stride=stride,
        padding=kernel_size // 2,
        groups=groups,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg if act else None)


class YOLO11Bottleneck(BaseModule):
    """Two 3x3 convs with a residual add (YOLO's ``Bottleneck``, k=(3, 3)).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        shortcut (bool): Add the input when the channels match.
        expansion (float): Hidden channels = ``int(out_channels *
            expansion)``.
        norm_cfg (dict): Norm config. act_cfg (dict): Activation config.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 shortcut: bool = True,
                 expansion: float = 0.5,
                 norm_cfg: ConfigType = YOLO11_NORM,
                 act_cfg: ConfigType = YOLO11_ACT,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg)
        hidden = int(out_channels * expansion)
        self.conv1 = yolo11_conv(
            in_channels, hidden, 3, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = yolo11_conv(
            hidden, out_channels, 3, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.add = shortcut and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W)."""
        out = self.conv2(self.conv1(x))
        return x + out if self.add else out


@MODELS.register_module()
class C3k(BaseModule):
    """CSP block with two branches (YOLO's ``C3`` with 3x3 bottlenecks).

    ``main_conv`` (1x1) -> ``num_blocks`` bottlenecks, concatenated with
    ``short_conv`` (1x1), then ``final_conv`` (1x1); hidden width
    ``int(out_channels * expansion)``.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        num_blocks (int): Bottlenecks (2 in YOLO11).
        shortcut (bool): Residual adds in the bottlenecks.
        expansion (float): Hidden width ratio.
        norm_cfg (dict): Norm config. act_cfg (dict): Activation config.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_blocks: int = 2,
                 shortcut: bool = True,
                 expansion: float = 0.5,
                 norm_cfg: ConfigType = YOLO11_NORM,
                 act_cfg: ConfigType = YOLO11_ACT,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg)
        hidden = int(out_channels * expansion)
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.main_conv = yolo11_conv(in_channels, hidden, **cfg)
        self.short_conv = yolo11_conv(in_channels, hidden, **cfg)
        self.final_conv = yolo11_conv(2 * hidden, out_channels, **cfg)
        self.blocks = nn.Sequential(*[
            YOLO11Bottleneck(hidden, hidden, shortcut, 1.0, **cfg)
            for _ in range(num_blocks)
        ])

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W)."""
        return self.final_conv(
            torch.cat([self.blocks(self.main_conv(x)),
                       self.short_conv(x)], 1))


@MODELS.register_module()
class C3k2(BaseModule):
    """YOLO11's C2f-style CSP block.

    ``main_conv`` (1x1) to ``2c`` channels (``c = int(out_channels *
    expansion)``), split in two halves; ``num_blocks`` sub-blocks chained
    on the last piece, every output kept; the ``(2 + num_blocks) * c``
    concatenation goes through ``final_conv`` (1x1). A sub-block is a
    :class:`YOLO11Bottleneck` (``c3k=False``) or a :class:`C3k` with two
    bottlenecks (``c3k=True``).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        num_blocks (int): Sub-blocks.
        c3k (bool): Use :class:`C3k` sub-blocks.
        expansion (float): Hidden width ratio.
        shortcut (bool): Residual adds in the sub-blocks.
        norm_cfg (dict): Norm config. act_cfg (dict): Activation config.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 num_blocks: int = 1, c3k: bool = False,
                 expansion: float = 0.5, shortcut: bool = True,
                 norm_cfg: ConfigType = YOLO11_NORM,
                 act_cfg: ConfigType = YOLO11_ACT,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg)
        c = int(out_channels * expansion)
        self.mid_channels = c
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.main_conv = yolo11_conv(in_channels, 2 * c, **cfg)
        self.final_conv = yolo11_conv((2 + num_blocks) * c, out_channels,
                                      **cfg)
        self.blocks = nn.ModuleList(
            C3k(c, c, 2, shortcut, **cfg) if c3k else YOLO11Bottleneck(
                c, c, shortcut, 0.5, **cfg) for _ in range(num_blocks))

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W)."""
        outs = list(self.main_conv(x).chunk(2, 1))
        for block in self.blocks:
            outs.append(block(outs[-1]))
        return self.final_conv(torch.cat(outs, 1))


@MODELS.register_module()
class SPPF(BaseModule):
    """Spatial pyramid pooling, fast: three chained 5x5 max-pools.

    ``conv1`` (1x1) to ``in_channels // 2``, pooled three times (stride 1),
    the four maps concatenated, ``conv2`` (1x1) to ``out_channels``; equal
    to SPP with 5 / 9 / 13 kernels.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int): Pooling kernel.
        norm_cfg (dict): Norm config. act_cfg (dict): Activation config.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int = 5,
                 norm_cfg: ConfigType = YOLO11_NORM,
                 act_cfg: ConfigType = YOLO11_ACT,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg)
        hidden = in_channels // 2
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = yolo11_conv(in_channels, hidden, **cfg)
        self.conv2 = yolo11_conv(hidden * 4, out_channels, **cfg)
        self.pool = nn.MaxPool2d(kernel_size, 1, kernel_size // 2)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_channels, H, W) -> (B, out_channels, H, W)."""
        outs = [self.conv1(x)]
        for _ in range(3):
            outs.append(self.pool(outs[-1]))
        return self.conv2(torch.cat(outs, 1))


class PSAAttention(BaseModule):
    """Multi-head self-attention over all locations, with a positional conv.

    ``heads = channels // 64``, head dim 64, key dim 32 (scale 32^-0.5).
    ``qkv`` (1x1 Conv+BN, no activation) gives per head ``[q | k | v]`` of
    32 / 32 / 64 channels; the attended values plus ``pe(v)`` (depthwise
    3x3 Conv+BN) go through ``proj`` (1x1 Conv+BN).

    Args:
        channels (int): Channels C (a multiple of 64).
        num_heads (int): Heads (default C // 64).
        attn_ratio (float): Key dim / head dim.
        norm_cfg (dict): Norm config.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 channels: int,
                 num_heads: int = None,
                 attn_ratio: float = 0.5,
                 norm_cfg: ConfigType = YOLO11_NORM,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg)
        num_heads = num_heads or max(channels // 64, 1)
        if channels % num_heads:
            raise ValueError(f'PSAAttention: {channels} channels cannot be '
                             f'split into {num_heads} heads.')
        self.num_heads = num_heads
        self.head_dim = channels // num_heads
        self.key_dim = int(self.head_dim * attn_ratio)
        self.scale = self.key_dim**-0.5
        qkv_channels = channels + 2 * self.key_dim * num_heads
        self.qkv = yolo11_conv(
            channels, qkv_channels, act=False, norm_cfg=norm_cfg)
        self.proj = yolo11_conv(channels, channels, act=False,
                                norm_cfg=norm_cfg)
        self.pe = yolo11_conv(
            channels, channels, 3, groups=channels, act=False,
            norm_cfg=norm_cfg)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        B, C, H, W = x.shape
        q, k, v = self.qkv(x).view(
            B, self.num_heads, 2 * self.key_dim + self.head_dim,
            H * W).split([self.key_dim, self.key_dim, self.head_dim], dim=2)
        attn = ((q * self.scale).transpose(-2, -1) @ k).softmax(dim=-1)
        out = (v @ attn.transpose(-2, -1)).view(B, C, H, W)
        out = out + self.pe(v.reshape(B, C, H, W))
        return self.proj(out)


@MODELS.register_module()
class PSABlock(BaseModule):
    """``x + attn(x)``, then ``x + ffn(x)`` (FFN: 1x1 C->2C SiLU, 2C->C).

    Args:
        channels (int): Channels C.
        norm_cfg (dict): Norm config. act_cfg (dict): Activation config.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 channels: int,
                 norm_cfg: ConfigType = YOLO11_NORM,
                 act_cfg: ConfigType = YOLO11_ACT,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg)
        self.attn = PSAAttention(channels, norm_cfg=norm_cfg)
        self.ffn = nn.Sequential(
            yolo11_conv(channels, channels * 2, norm_cfg=norm_cfg,
                        act_cfg=act_cfg),
            yolo11_conv(channels * 2, channels, act=False,
                        norm_cfg=norm_cfg))

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        x = x + self.attn(x)
        return x + self.ffn(x)


@MODELS.register_module()
class C2PSA(BaseModule):
    """CSP block with position-sensitive attention (YOLO11's last stage).

    ``main_conv`` (1x1) to ``2 * (C // 2)``, split; one half through
    ``num_blocks`` :class:`PSABlock`; concatenated with the other half;
    ``final_conv`` (1x1) back to C.

    Args:
        channels (int): Input = output channels C.
        num_blocks (int): PSA blocks.
        norm_cfg (dict): Norm config. act_cfg (dict): Activation config.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 channels: int,
                 num_blocks: int = 1,
                 norm_cfg: ConfigType = YOLO11_NORM,
                 act_cfg: ConfigType = YOLO11_ACT,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg)
        c = channels // 2
        self.mid_channels = c
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.main_conv = yolo11_conv(channels, 2 * c, **cfg)
        self.final_conv = yolo11_conv(2 * c, channels, **cfg)
        self.blocks = nn.Sequential(
            *[PSABlock(c, **cfg) for _ in range(num_blocks)])

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) -> (B, C, H, W)."""
        a, b = self.main_conv(x).split(self.mid_channels, dim=1)
        return self.final_conv(torch.cat([a, self.blocks(b)], 1))


def scale_channels(channels: int, widen: float, max_channels: int) -> int:
    """``ceil8(min(channels, max_channels) * widen)``, YOLO's width rule."""
    return int(math.ceil(min(channels, max_channels) * widen / 8) * 8)


def scale_depth(num_blocks: int, deepen: float) -> int:
    """``max(round(num_blocks * deepen), 1)``, YOLO's depth rule."""
    return max(round(num_blocks * deepen), 1)


#: (deepen, widen, max_channels) per YOLO11 scale
YOLO11_ARCH: dict = dict(
    n=(0.50, 0.25, 1024),
    s=(0.50, 0.50, 1024),
    m=(0.50, 1.00, 512),
    l=(1.00, 1.00, 512),
    x=(1.00, 1.50, 512))


def yolo11_arch(arch: str) -> Tuple[float, float, int]:
    """``(deepen, widen, max_channels)`` of a scale, with a clear error."""
    if arch not in YOLO11_ARCH:
        raise ValueError(f'YOLO11 arch {arch!r} is not one of '
                       f'{sorted(YOLO11_ARCH)}.')
    return YOLO11_ARCH[arch]
