# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""The branch under mixed precision: bf16 autocast keeps the normalisation
and ``cos / tau`` in float32, training steps stay finite."""
import torch

import mmdet_clipjoint  # noqa: F401
from mmdet.registry import MODELS
from ..test_dense_heads._helpers import (build, config_path, feats, samples,
                                         total_loss)

RTMDET = config_path('clipjoint_rtmdet',
                     'clipjoint-rtmdet_tiny_8xb32-300e_coco.py')


def test_bank_logits_are_float32_under_autocast_and_half_inputs():
    bank = MODELS.build(dict(type='ContrastiveTextBank', init_source='random',
                             class_names=['a', 'b', 'c'], cache_dir=None))
    x = torch.nn.functional.normalize(torch.randn(5, 512), dim=-1)
    ref = bank(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        logits = bank(x.bfloat16())
    assert logits.dtype == torch.float32
    # only the input's rounding to bf16 remains (not a bf16 matmul of
    # logits scaled by 1 / tau ~ 14)
    torch.testing.assert_close(logits, bank(x.bfloat16().float()))
    torch.testing.assert_close(logits, ref, atol=0.2, rtol=0.05)
    assert bank(x.half()).dtype == torch.float32


def test_bf16_autocast_training_step_of_a_dense_head():
    head = build(RTMDET)
    head.train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outs = head(feats(96))
        emb = head.embed(outs[2][0])
        losses = head.loss(feats(96), samples([3, 1]))
    assert emb.dtype == torch.float32
    torch.testing.assert_close(emb.norm(dim=1),
                               torch.ones_like(emb[:, 0]))
    for k in ('loss_contrast', 'loss_clip_ce'):
        assert losses[k].dtype == torch.float32
        assert torch.isfinite(losses[k]) and losses[k] > 0
    total_loss(losses).backward()
    for p in (head.text_bank.embeddings, head.text_bank.log_scale,
              head.proj[0].weight):
        assert p.grad is not None and torch.isfinite(p.grad).all()


def test_bf16_autocast_inference_in_fuse_mode():
    head = build(RTMDET, score_mode='fuse')
    head.eval()
    with torch.no_grad():
        ref = head.predict(feats(96, batch=1), samples([1]))[0]
        with torch.autocast('cpu', dtype=torch.bfloat16):
            res = head.predict(feats(96, batch=1), samples([1]))[0]
    assert len(res.scores) > 0 and torch.isfinite(res.scores).all()
    assert ((res.scores >= 0) & (res.scores <= 1)).all()
    # the top detections agree with the float32 run within bf16 rounding
    torch.testing.assert_close(res.scores[:5].float(), ref.scores[:5],
                               atol=0.05, rtol=0.1)


def test_fp16_weights_inference_in_fuse_mode():
    """A half-precision model (``model.half()``, fp16 inputs): the branch
    still scores in float32 inside (normalisation, cos / tau) and the fused
    scores match the float32 model's within fp16 rounding."""
    head = build(RTMDET, score_mode='fuse')
    head.eval()
    x = feats(96, batch=1)
    with torch.no_grad():
        ref = head.predict(x, samples([1]))[0]
        head.half()
        res = head.predict(tuple(f.half() for f in x), samples([1]))[0]
    assert head.text_bank.embeddings.dtype == torch.float16
    assert len(res.scores) > 0 and torch.isfinite(res.scores.float()).all()
    torch.testing.assert_close(res.scores[:5].float(), ref.scores[:5],
                               atol=0.02, rtol=0.05)
