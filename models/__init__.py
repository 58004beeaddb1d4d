"""What the model is: config, fixed-point features, labels, the integer reference, and (in separate,
lazily imported modules) the QKeras build / train / evaluate / export. Never imports `control`."""
