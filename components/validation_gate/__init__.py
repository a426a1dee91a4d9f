"""A gate that stops the run when ExampleValidator found anomalies."""
