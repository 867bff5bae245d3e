"""The Telegram side of Stickerbot: handlers that parse updates, call the engine, format replies."""
