"""hls4ml conversion of the exported QKeras model (build time only; imports TensorFlow). See hls/README.md."""
