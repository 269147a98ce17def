"""Images in and out: decoding any file safely, 16-bit and TIFF pixels, formats and limits, atomic writes."""
