"""The embedded sticker-suggestion engine: recall, personal taste and ranking, no torch."""
