# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The YOLO11 path-aggregation neck as an mmdet neck."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from ..layers.yolo11_blocks import (YOLO11_ACT, YOLO11_NORM, C3k2,
                                    scale_channels, scale_depth, yolo11_arch,
                                    yolo11_conv)

__all__ = ['YOLO11PAFPN']


@MODELS.register_module()
class YOLO11PAFPN(BaseModule):
    """YOLO11's PAN neck on the backbone's (P3, P4, P5).

    Base channels (scaled like the backbone)::

        top-down   up(P5) ++ P4 -> C3k2 512 = T4
                   up(T4) ++ P3 -> C3k2 256 = out P3
        bottom-up  Conv 3x3 s2 (out P3) ++ T4 -> C3k2 512  = out P4
                   Conv 3x3 s2 (out P4) ++ P5 -> C3k2 1024 (c3k) = out P5

    (``++``: channel concatenation, ``up``: nearest x2.) The C3k2 blocks
    keep their shortcut (unlike YOLOv8's neck) and use ``c3k=True`` for the
    m / l / x scales. Outputs: n (64, 128, 256), s (128, 256, 512),
    m (256, 512, 512) channels at strides 8 / 16 / 32.

    Args:
        arch (str): Scale, as the backbone's.
        in_channels (Sequence[int], optional): The backbone's output
            channels; checked against ``arch`` when given.
        norm_cfg (dict): Norm config. act_cfg (dict): Activation config.
        init_cfg (dict, optional): Init config.
    """

    def __init__(self,
                 arch: str = 'n',
                 in_channels: Optional[Sequence[int]] = None,
                 norm_cfg: ConfigType = YOLO11_NORM,
                 act_cfg: ConfigType = YOLO11_ACT,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg)
        deepen, widen, max_ch = yolo11_arch(arch)
        ch = lambda c: scale_channels(c, widen, max_ch)  # noqa: E731
        c3, c4, c5 = ch(512), ch(512), ch(1024)
        if in_channels is not None and tuple(in_channels) != (c3, c4, c5):
            raise ValueError(
                f'YOLO11PAFPN(arch={arch!r}) expects in_channels '
                f'{(c3, c4, c5)} (the YOLO11 {arch} backbone\'s P3-P5), '
                f'got {tuple(in_channels)}.')
        n = scale_depth(2, deepen)
        c3k_all = arch in ('m', 'l', 'x')
        cfg = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.in_channels = (c3, c4, c5)
        self.out_channels = (ch(256), ch(512), ch(1024))
        o3, o4, o5 = self.out_channels
        self.upsample = nn.Upsample(scale_factor=2, mode='nearest')
        self.top_down_blocks = nn.ModuleList([
            C3k2(c5 + c4, ch(512), n, c3k_all, **cfg),
            C3k2(ch(512) + c3, o3, n, c3k_all, **cfg),
        ])
        self.downsamples = nn.ModuleList([
            yolo11_conv(o3, o3, 3, 2, **cfg),
            yolo11_conv(o4, o4, 3, 2, **cfg),
        ])
        self.bottom_up_blocks = nn.ModuleList([
            C3k2(o3 + ch(512), o4, n, c3k_all, **cfg),
            C3k2(o4 + c5, o5, n, True, **cfg),
        ])

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Args: inputs (Sequence[Tensor]): (P3, P4, P5), each
        (B, C_i, H / s_i, W / s_i), s = 8, 16, 32.

        Returns:
            tuple[Tensor]: (out P3, out P4, out P5) with
            ``out_channels``, same strides.
        """
        if len(inputs) != 3:
            raise ValueError(f'YOLO11PAFPN takes 3 levels (P3, P4, P5), got '
                             f'{len(inputs)}; use backbone out_indices '
                             '(2, 3, 4).')
        p3, p4, p5 = inputs
        t4 = self.top_down_blocks[0](torch.cat([self.upsample(p5), p4], 1))
        out3 = self.top_down_blocks[1](torch.cat([self.upsample(t4), p3], 1))
        out4 = self.bottom_up_blocks[0](
            torch.cat([self.downsamples[0](out3), t4], 1))
        out5 = self.bottom_up_blocks[1](
            torch.cat([self.downsamples[1](out4), p5], 1))
        return out3, out4, out5
