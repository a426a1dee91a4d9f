"""Kubeflow Pipelines (v2): compile, submit and schedule the one TFX DAG."""
