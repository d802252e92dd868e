"""Which pack (or dependency) usually provides a node type: for the message about a workflow that
names node types this ComfyUI does not have. A short table of well-known packs, not a registry."""

from __future__ import annotations

# ComfyUI's own audio nodes: comfy_extras/nodes_audio.py and nodes_audio_encoder.py import
# torchaudio, so a ComfyUI without it (like the embedded one) lacks all of these.
TORCHAUDIO_NODES = {
    "EmptyLatentAudio", "VAEEncodeAudio", "VAEDecodeAudio", "SaveAudio", "SaveAudioMP3", "SaveAudioOpus",
    "LoadAudio", "PreviewAudio", "ConditioningStableAudio", "RecordAudio", "TrimAudioDuration",
    "SplitAudioChannels", "AudioConcat", "AudioMerge", "AudioAdjustVolume", "EmptyAudio",
    "AudioEncoderLoader", "AudioEncoderEncode",
}
TORCHAUDIO = ("ComfyUI core (comfy_extras/nodes_audio*.py), which needs torchaudio: "
              "`pip install torchaudio` (the build matching your torch)")

PACKS = {
    "comfyui_controlnet_aux (Fannovel16)": {
        "DWPreprocessor", "OpenposePreprocessor", "PixelPerfectResolution", "AIO_Preprocessor",
        "DepthAnythingPreprocessor", "DepthAnythingV2Preprocessor", "LineArtPreprocessor",
        "AnyLineArtPreprocessor_aux", "MiDaS-DepthMapPreprocessor", "Zoe-DepthMapPreprocessor",
        "HEDPreprocessor", "PiDiNetPreprocessor", "TilePreprocessor", "DensePosePreprocessor",
    },
    "ComfyUI-KJNodes (kijai)": {
        "PointsEditor", "DrawMaskOnImage", "BlockifyMask", "GetImageSizeAndCount", "ImageResizeKJ",
        "ImageResizeKJv2", "ColorMatch", "GrowMaskWithBlur", "SetNode", "GetNode", "ImageConcanate",
        "ImageBatchMulti", "INTConstant", "FloatConstant", "StringConstant", "StringConstantMultiline",
        "WanVideoNAG", "PathchSageAttentionKJ", "PatchSageAttentionKJ", "TorchCompileModelWanVideo",
    },
    "ComfyUI-segment-anything-2 (kijai)": {"DownloadAndLoadSAM2Model", "Sam2Segmentation",
                                           "Sam2AutoSegmentation", "Sam2VideoSegmentation"},
    "ComfyUI-VideoHelperSuite (Kosinkadink)": {"VHS_LoadVideo", "VHS_LoadVideoPath", "VHS_VideoCombine",
                                               "VHS_LoadImages", "VHS_LoadImagesPath", "VHS_LoadAudio",
                                               "VHS_VideoInfo", "VHS_SplitImages", "VHS_SelectEveryNthImage"},
    "ComfyUI-GGUF (city96)": {"UnetLoaderGGUF", "CLIPLoaderGGUF", "DualCLIPLoaderGGUF", "TripleCLIPLoaderGGUF",
                              "UnetLoaderGGUFAdvanced"},
    "ComfyUI_IPAdapter_plus (cubiq)": {"IPAdapterModelLoader", "IPAdapterAdvanced", "IPAdapterUnifiedLoader",
                                       "IPAdapter", "IPAdapterFaceID", "IPAdapterInsightFaceLoader"},
    "ComfyUI-Impact-Pack (ltdrdata)": {"FaceDetailer", "SAMLoader", "DetailerForEach", "BboxDetectorSEGS",
                                       "SegmDetectorSEGS", "ImpactWildcardProcessor"},
    "ComfyUI-Impact-Subpack (ltdrdata)": {"UltralyticsDetectorProvider"},
    "ComfyUI-Frame-Interpolation (Fannovel16)": {"RIFE VFI", "FILM VFI"},
}
PREFIXES = {
    "VHS_": "ComfyUI-VideoHelperSuite (Kosinkadink)",
    "ADE_": "ComfyUI-AnimateDiff-Evolved (Kosinkadink)",
    "ACN_": "ComfyUI-Advanced-ControlNet (Kosinkadink)",
    "WanVideo": "ComfyUI-WanVideoWrapper (kijai)",
    "easy ": "ComfyUI-Easy-Use (yolain)",
}
SUFFIXES = {
    "(rgthree)": "rgthree-comfy",
    "|pysssss": "ComfyUI-Custom-Scripts (pysssss)",
    "+": "ComfyUI_essentials (cubiq)",
    "//Inspire": "ComfyUI-Inspire-Pack (ltdrdata)",
}


def provider(node_type: str) -> str | None:
    """The pack (or dependency) that usually provides ``node_type``, if it is a well-known one."""
    if node_type in TORCHAUDIO_NODES:
        return TORCHAUDIO
    for pack, names in PACKS.items():
        if node_type in names:
            return pack
    for prefix, pack in PREFIXES.items():
        if node_type.startswith(prefix):
            return pack
    for suffix, pack in SUFFIXES.items():
        if node_type.endswith(suffix):
            return pack
    return None


def describe_missing(missing: dict[str, list[str]], comfyui: str = "this ComfyUI") -> str:
    """The message for node types that ``comfyui`` lacks: each type, where it is used, and who
    provides it when known."""
    lines = [f"the workflow uses {len(missing)} node type(s) that {comfyui} does not have:"]
    for node_type in sorted(missing):
        places = missing[node_type]
        where = ", ".join(places[:4]) + (f" and {len(places) - 4} more" if len(places) > 4 else "")
        known = provider(node_type)
        source = f"provided by {known}" if known else "unknown pack (a custom node pack, or a newer ComfyUI)"
        lines.append(f"  {node_type} ({where}): {source}")
    return "\n".join(lines)
