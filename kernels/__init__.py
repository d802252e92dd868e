"""Low-level ops (upfirdn2d, bias_act, filtered_lrelu, modulated conv): references + fast paths.

Never imports ComfyUI; nothing here needs compiling.
"""
