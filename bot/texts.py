"""Every string a user can see, in one place so it can be translated."""

from __future__ import annotations

HELP = (
    "I suggest stickers that fit both your words and you.\n\n"
    "Type @{username} and a few words in any chat, then pick a sticker. "
    "With nothing typed I suggest stickers for the conversation you are in.\n\n"
    "I learn from the stickers you pick and send, so suggestions get more personal. "
    "Forward me a sticker, or use /addset, to add its pack.\n\n"
    "/prefs: your taste, safe mode, language, your data\n"
    "/addset <name or t.me/addstickers link>: add a sticker pack\n"
    "/forget: delete everything I know about you"
)

COMMANDS = {
    "start": "What this bot does",
    "help": "How to use it",
    "prefs": "Your taste and settings",
    "addset": "Add a sticker pack",
    "forget": "Delete your data",
}

PREFS_INLINE_BUTTON = "Settings"
PREFS_TITLE = "Your settings\n\nLearning: {learning}\nSafe mode: {safe}\nLanguage: {language}"
PREFS_IN_PRIVATE = "Settings are in our private chat."
OPEN_PRIVATE_BUTTON = "Open settings"
ON = "on"
OFF = "off"
PAUSED = "paused"
AUTO_LANGUAGE = "automatic"

BUTTON_TASTE = "See my taste"
BUTTON_RESET = "Reset my taste"
BUTTON_PAUSE = "Pause learning"
BUTTON_RESUME = "Resume learning"
BUTTON_SAFE_ON = "Safe mode: turn on"
BUTTON_SAFE_OFF = "Safe mode: turn off"
BUTTON_LANGUAGE = "My language"
BUTTON_EXPORT = "Export my data"
BUTTON_FORGET = "Delete my data"
BUTTON_CONFIRM_FORGET = "Yes, delete everything"
BUTTON_CANCEL = "Cancel"
BUTTON_BACK = "Back"

# Language buttons: BCP-47 primary tag -> the language's own name.
LANGUAGES = {
    "en": "English",
    "es": "Español",
    "pt": "Português",
    "fr": "Français",
    "de": "Deutsch",
    "it": "Italiano",
    "ru": "Русский",
    "uk": "Українська",
}

TASTE_EMPTY = "I have not learned your taste yet: pick or send a few stickers first."
TASTE_HEADER = "What I have learned from {events} stickers:"
TASTE_PACK_LINE = "• {pack}: {share:.0%}"
TASTE_STYLES = "Your {count} favourite styles follow, one sticker each."
TASTE_LANGUAGES = "You type in: {languages}. Their emoji keywords come first."
TASTE_RESET_DONE = "Your taste is reset. Your settings are kept."
LEARNING_PAUSED = "Learning paused: I will not learn from your stickers until you resume."
LEARNING_RESUMED = "Learning resumed."
SAFE_ON = "Safe mode is on."
SAFE_OFF = "Safe mode is off."
LANGUAGE_CHOOSE = "Choose your language:"
LANGUAGE_SET = "Language set: {language}."
EXPORT_CAPTION = "Everything I store about you."
EXPORT_FILENAME = "stickerbot-data.json"
FORGET_CONFIRM = (
    "Delete everything I know about you: your stickers, taste and settings? This cannot be undone."
)
FORGET_DONE = "Done: I have deleted everything I knew about you."
FORGET_CANCELLED = "Nothing was deleted."
NOT_YOUR_BUTTON = "These buttons belong to someone else. Send /prefs for your own."

ADDSET_USAGE = "Send /addset and a pack name or a t.me/addstickers/... link."
ADDSET_BAD_NAME = "That is not a sticker pack name or link."
ADDSET_QUEUED = "Adding the pack {name}..."
ADDSET_DONE = "Pack {name} added: {count} new stickers."
ADDSET_UNKNOWN = "Telegram has no sticker pack named {name}."
ADDSET_FAILED = "I could not add the pack {name}. Try again later."

STATS_LINE = "{key}: {value}"
STATS_QUEUE = "ingestion queue: {value}"

SORRY = "Sorry, something went wrong on my side. Please try again."
