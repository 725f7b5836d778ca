"""The importers of xformer-import, one module per source: Hugging Face
configs (hf), GGUF files (gguf), ONNX graphs (onnx), over the IR text
builder they share (ir); the command line in cli. The xformer package
carries them as xformer.importers."""
