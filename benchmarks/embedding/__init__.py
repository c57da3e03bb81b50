"""The embedding benchmark (``bench_encoder.py``): the Encoder against SentenceTransformer.encode."""
