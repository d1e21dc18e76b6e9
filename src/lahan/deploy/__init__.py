"""Deployment: inference precisions, int8, ONNX export and runtime, predictors, serving."""
