"""The SIP driver: a compact asyncio SIP user agent, RTP media, TTS prompts and AMD."""
