"""The face engine: detection, landmarks, alignment, quality, embeddings, scoring, evaluation."""
