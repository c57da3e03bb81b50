"""The `genai` command line. Each command lives in its own module and imports heavy libraries lazily,
so `genai --help` answers in well under a second."""
