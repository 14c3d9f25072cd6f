"""Message campaigns, the sound library, voices and SSML (issue 17)."""
