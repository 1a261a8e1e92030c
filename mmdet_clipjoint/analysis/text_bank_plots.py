# Copyright (c) mmdet_clipjoint contributors. All rights reserved.
"""Figures of the text-bank analysis (:mod:`.text_bank`): class x class
similarity, per-class drift, temperatures and the PCA of region embeddings.
Each function writes one PNG and returns its title."""
import numpy as np

from .text_bank import pca_2d

__all__ = [
    'plot_similarity', 'plot_drift', 'plot_temperatures', 'plot_regions'
]


def _class_ticks(ax, names, axis='both'):
    if len(names) > 40:
        return
    if axis in ('both', 'x'):
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=90, fontsize=7)
    if axis in ('both', 'y'):
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=7)


def _unavailable(ax, reason):
    ax.text(0.5, 0.5, 'initialisation unavailable:\n' + reason,
            ha='center', va='center', wrap=True, fontsize=9,
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_similarity(path, names, learned, init, init_desc, title_prefix):
    import matplotlib.pyplot as plt
    sim_l = (learned @ learned.t()).numpy()
    sims = [sim_l] + ([(init @ init.t()).numpy()] if init is not None
                      else [])
    off = ~np.eye(len(names), dtype=bool)
    vmin = min(float(s[off].min()) for s in sims) if len(names) > 1 else -1
    title = f'{title_prefix}class x class cosine similarity'
    if init is None:
        title += f' (initialisation unavailable: {init_desc})'
    fig, axes = plt.subplots(1, 2, figsize=(13, 6), layout='constrained')
    if init is not None:
        im = axes[0].imshow(sims[1], vmin=vmin, vmax=1, cmap='viridis')
        axes[0].set_title(f'initialisation: {init_desc}', fontsize=9)
        _class_ticks(axes[0], names)
    else:
        _unavailable(axes[0], init_desc)
    im = axes[1].imshow(sim_l, vmin=vmin, vmax=1, cmap='viridis')
    axes[1].set_title('learned (checkpoint)', fontsize=9)
    _class_ticks(axes[1], names)
    fig.colorbar(im, ax=list(axes), shrink=0.7)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return title


def plot_drift(path, names, drift, init_desc, title_prefix):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(names) + 2), 4))
    if drift is None:
        title = (f'{title_prefix}per-class drift 1 - cos(init, learned): '
                 f'initialisation unavailable ({init_desc})')
        _unavailable(ax, init_desc)
    else:
        title = (f'{title_prefix}per-class drift 1 - cos(init, learned); '
                 f'init: {init_desc}')
        ax.bar(range(len(names)), drift, color='tab:blue')
        ax.set_ylabel('1 - cos(init, learned)')
        _class_ticks(ax, names, 'x')
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return title


def plot_temperatures(path, labels, temps, init_temp, t_range,
                      title_prefix):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(labels) + 2), 4))
    ax.bar(range(len(labels)), temps, color='tab:orange')
    if init_temp is not None:
        ax.axhline(init_temp, color='k', ls='--', lw=1,
                   label=f'initial tau = {init_temp:g}')
    for t in t_range:
        ax.axhline(t, color='grey', ls=':', lw=1)
    ax.set_yscale('log')
    ax.set_ylabel('temperature tau (log scale)')
    _class_ticks(ax, labels, 'x')
    if init_temp is not None:
        ax.legend(fontsize=8)
    title = (f'{title_prefix}learned per-class temperatures '
             f'(clamp range {t_range[0]:g}-{t_range[1]:g}, dotted)')
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return title


def plot_regions(path, regions, text_emb, names, title_prefix):
    import matplotlib.pyplot as plt
    x = regions['embeds'].numpy()
    lab = regions['labels'].numpy()
    mean, axes, ratio = pca_2d(x)
    p = (x - mean) @ axes.T
    t = (text_emb.numpy() - mean) @ axes.T
    cmap = plt.get_cmap('tab20')
    fig, ax = plt.subplots(figsize=(8, 6.5))
    bg = lab < 0
    if bg.any():
        ax.scatter(p[bg, 0], p[bg, 1], s=8, c='lightgrey',
                   label='background (IoU < 0.5)')
    for c in sorted(set(lab[~bg].tolist())):
        m = lab == c
        ax.scatter(p[m, 0], p[m, 1], s=14, color=cmap(c % 20),
                   label=names[c])
    for c, name in enumerate(names):
        ax.scatter(t[c, 0], t[c, 1], marker='*', s=120, color=cmap(c % 20),
                   edgecolors='k', linewidths=0.6)
        if len(names) <= 40:
            ax.annotate(name, t[c], fontsize=6, xytext=(3, 3),
                        textcoords='offset points')
    ax.set_xlabel(f'PC1 ({100 * ratio[0]:.1f}% var.)')
    ax.set_ylabel(f'PC2 ({100 * ratio[1]:.1f}% var.)' if len(ratio) > 1
                  else 'PC2')
    if len(set(lab.tolist())) <= 25:
        ax.legend(fontsize=7, loc='best', markerscale=1.2)
    title = (f'{title_prefix}PCA of {len(x)} region embeddings '
             f'({regions["num_images"]} images), coloured by '
             f'{regions["colour_by"]}; stars: class text embeddings')
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return title, ratio
