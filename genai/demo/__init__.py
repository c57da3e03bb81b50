"""`genai demo`: the platform's main job on its embedded defaults, on a corpus it writes itself."""
