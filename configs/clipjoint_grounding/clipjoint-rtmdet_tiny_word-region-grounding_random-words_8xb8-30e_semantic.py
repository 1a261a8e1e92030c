# Control of the CLIP word starts (issue 26 item 2): the same three-way run
# with every concept word starting at random (seeded), as in the colour x
# shape world where no shipped vocabulary names the words.
_base_ = './clipjoint-rtmdet_tiny_word-region-grounding_8xb8-30e_semantic.py'

model = dict(
    bbox_head=dict(
        text_bank=dict(
            phrase_encoder=dict(init_vocabulary=None,
                                init_part_words=False))))
