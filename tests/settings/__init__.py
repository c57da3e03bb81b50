"""Tests of genai.settings."""
