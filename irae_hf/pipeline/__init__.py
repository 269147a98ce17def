"""From a photo to its restoration and back: restore and recover_input, tiling, runtimes (fused, bf16, ONNX),
evaluation."""
