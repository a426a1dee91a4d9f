"""Transform code: decode, resize and scale images in the TF graph."""
