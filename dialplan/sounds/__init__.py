"""Sounds: the library (made once, 8 kHz mu-law), voices, SSML checks and rendering."""
