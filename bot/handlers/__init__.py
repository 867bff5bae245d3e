"""Update handlers, one module per kind of update; registered in bot.app.build_application."""
