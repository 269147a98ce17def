"""ComfyUI: IRAE files (``irae export --format spandrel``) in the "Load Upscale Model" node.

Copy this folder into ``ComfyUI/custom_nodes/`` and install irae-hf into ComfyUI's Python (``pip install
irae-hf``, or this repository). At start-up ComfyUI imports it, which adds IRAE to spandrel's registry, the one
ComfyUI's loader uses; it adds no nodes of its own.
"""

from irae_hf.spandrel import install

install()

NODE_CLASS_MAPPINGS: dict = {}
NODE_DISPLAY_NAME_MAPPINGS: dict = {}
