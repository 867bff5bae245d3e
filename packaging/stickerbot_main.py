"""Entry point of the single-file binary (`make binary`): the same as the `stickerbot` script."""

from bot.cli import main

if __name__ == "__main__":
    main()
