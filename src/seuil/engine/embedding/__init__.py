"""Embedding backends behind the FaceEmbedder port."""
