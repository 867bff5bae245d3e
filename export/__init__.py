"""Offline steps: model export, captions, OCR and the index build; torch lives only here."""
