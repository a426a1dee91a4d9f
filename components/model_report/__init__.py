"""ModelReport: model.json beside the pushed model, and a run summary."""
