"""Frame sources (network cameras, webcams, replayed files) and QR reading from frames.

Import the module you need (``av_source``, ``file_source``, ``qr_reader``): importing
this package loads no decoder.
"""
