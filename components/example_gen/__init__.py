"""ExampleGens that turn image folders into tf.Example TFRecords."""
