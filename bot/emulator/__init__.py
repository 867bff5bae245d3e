"""A local Telegram Bot API emulator for end-to-end tests, demos and load tests.

    emu = BotApiEmulator(token="123:TEST")
    emu.add_sticker_set("cats", "Cats", [(Path("cat.png"), "🐱")])
    await emu.start()  # port 0: a free port
    app = Application.builder().token("123:TEST").base_url(emu.base_url)
                      .base_file_url(emu.base_file_url).build()
    query_id = emu.inline_query("cat")        # act as a user
    answer = await emu.wait_inline_answer(query_id)
    await emu.stop()

The same control calls are served over HTTP as `POST /control/<name>` (see control_http).
"""

from .emulator import DEFAULT_TOKEN, BotApiEmulator
from .errors import ApiError, EmulatorError

__all__ = ["DEFAULT_TOKEN", "ApiError", "BotApiEmulator", "EmulatorError"]
