"""The embedding model: where it lives on disk, its tokenizer, and the pipelined encoder."""
