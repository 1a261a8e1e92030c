# The named ablations of ClipJoint, written once. Each is a delta over a
# ClipJoint head config (its `text_bank` / `branch` keys and the head's own
# arguments; None removes a loss). Both users read this file:
# - the ablation configs take it as a second base and plug one delta in:
#     _base_ = ['./clipjoint-rtmdet_tiny_8xb32-300e_coco.py',
#               '../_base_/clipjoint_ablations.py']
#     model = dict(bbox_head=_base_.clipjoint_ablations.frozen_text)
#   (Faster R-CNN: model = dict(roi_head=dict(bbox_head=...)));
# - the accuracy benchmark (mmdet_clipjoint.benchmark.experiments.
#   CLIPJOINT_VARIANTS), whose method `clipjoint-frozen-text` is the delta
#   `frozen_text`, merged into every ClipJoint head of a run.
# Main recipe and why: configs/_base_/clipjoint_branch.py.

def _weights(contrast=None, aux=None):
    """A branch delta that sets the InfoNCE and / or aux CE weight."""
    losses = dict(loss_contrast=contrast, loss_aux=aux)
    return dict(branch={
        k: dict(loss_weight=w)
        for k, w in losses.items() if w is not None
    })


clipjoint_ablations = dict(
    # loss weights: the InfoNCE term, the aux CE term, or both
    contrast_w0_5=_weights(contrast=0.5),
    contrast_w2=_weights(contrast=2.0),
    aux_w0_5=_weights(aux=0.5),
    contrast_w0_25=_weights(contrast=0.25, aux=0.25),
    branch_w0_5=_weights(contrast=0.5, aux=0.5),
    branch_w2=_weights(contrast=2.0, aux=2.0),
    # InfoNCE only: the background samples are not trained
    no_aux_ce=dict(branch=dict(loss_aux=None)),
    # symmetric InfoNCE (text -> region over the sampled regions too,
    # gathered across ranks)
    symmetric=dict(branch=dict(loss_contrast=dict(symmetric=True))),
    # long tail: both branch terms logit-adjusted by the running label prior
    # while training (Menon et al. 2021, tau = 1); inference unchanged, so
    # the effect shows in the fuse / clip score modes
    logit_adjust=dict(branch=dict(logit_adjust=1.0)),
    # long tail / close CLIP rows: an additive cosine margin (CosFace) on
    # each foreground region's own class while training: a region must beat
    # its nearest row by 0.1 in cosine (about 1.4 logits at tau = 0.07, the
    # gap between neighbouring CLIP rows is about one)
    margin0_1=dict(branch=dict(margin=0.1)),
    # long tail: class temperatures initialised by frequency,
    # tau_c = 0.07 * (n_c / geometric mean) ** 0.1 (rarest / most frequent
    # about 1 : 1.5 at a 50x imbalance), then trained as usual
    freq_temp=dict(text_bank=dict(temperature_power=0.1)),
    # the branch's gradient into the trunk: tighter bound / no bound
    grad_share0_25=dict(branch=dict(max_grad_share=0.25)),
    no_grad_bound=dict(branch=dict(max_grad_share=None)),
    # narrower projection MLP (hidden width)
    proj128=dict(branch=dict(proj_hidden=128)),
    # one-stage heads: every positive weighted 1 instead of by its IoU
    no_quality=dict(quality_weight=False),
    # temperatures: fixed at 0.07, one shared, a softer start
    fixed_temp=dict(text_bank=dict(learn_temperature=False)),
    shared_temp=dict(text_bank=dict(shared_temperature=True)),
    tau0_2=dict(text_bank=dict(temperature=0.2)),
    # background: a constant zero logit / no entry (and then no aux CE)
    bg_zero=dict(text_bank=dict(background='zero')),
    bg_none=dict(text_bank=dict(background=None), branch=dict(loss_aux=None)),
    # the text bank: frozen at its initialisation, pulled back to it, a
    # random start, CLIP encoded live with one prompt or the ensemble
    frozen_text=dict(text_bank=dict(learnable=False)),
    drift_w1=dict(text_bank=dict(drift_weight=1.0)),
    # CLIP rows centred on the mean COCO row (the narrow cone opened; the
    # centre is kept with the checkpoint, set_vocabulary centres new names)
    centred=dict(text_bank=dict(centre='coco')),
    random_text=dict(text_bank=dict(init_source='random')),
    clip_live=dict(
        text_bank=dict(init_source='clip', templates=['a photo of a {}.'])),
    prompt_ensemble=dict(
        text_bank=dict(
            init_source='clip',
            templates=[
                'a photo of a {}.', 'a photo of the {}.',
                'a photo of a small {}.', 'a photo of a large {}.',
                'a close-up photo of a {}.', 'a cropped photo of a {}.',
                'a bright photo of a {}.', 'a blurry photo of a {}.',
                'there is a {} in the scene.', 'an image of a {}.'
            ])),
    # inference scoring (main: det, zero cost)
    score_clip=dict(score_mode='clip'),
    score_fuse=dict(score_mode='fuse', fuse_alpha=0.5),
    # frequency-weighted fusion: class c weighs the branch by
    # 1 - 0.5 * (n_c / n_max) ** 0.25 (the most frequent 0.5, a class 50x
    # rarer 0.81; balanced data: 0.5 everywhere); used in fuse mode
    fuse_freq=dict(fuse_frequency_power=0.25),
    # ... scoring in fuse mode with it (the ablation configs)
    score_fuse_freq=dict(
        score_mode='fuse', fuse_alpha=0.5, fuse_frequency_power=0.25),
)

# Deltas of the optimizer's paramwise custom_keys (the text bank's learning
# rate; main: embeddings x 0.01):
#   optim_wrapper = dict(paramwise_cfg=dict(
#       custom_keys=_base_.clipjoint_optim_ablations.bank_lr1))
clipjoint_optim_ablations = dict(
    bank_lr1={
        'text_bank.embeddings': dict(lr_mult=1.0, decay_mult=0.0),
        'text_bank.bg_embedding': dict(lr_mult=1.0, decay_mult=0.0)
    })
