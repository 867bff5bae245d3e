"""`stickerbot export ...` and `stickerbot import ...`: the offline steps (index a catalog, caption
it, export models) and the conversion of public datasets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer
from tqdm import tqdm

from bot.cli_support import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    HELP_MARKUP,
    ConfigOption,
    DataOption,
    StageBars,
    fail,
    offline_settings,
    user_errors,
)

if TYPE_CHECKING:  # the engine loads models and native libraries: only when a command needs it
    from export.pipeline import PipelineSummary

log = logging.getLogger(__name__)

EXPORT_HINT = "pip install -e '.[export]'"

export_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=HELP_MARKUP,
    help="Offline steps: index a catalog, caption it, export models.",
)
import_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=HELP_MARKUP,
    help="Convert public datasets to FORMAT.md.",
)

# -- export model -----------------------------------------------------------------------------


@export_app.command(
    "model",
    add_help_option=False,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def export_model(ctx: typer.Context) -> None:
    """Export CLIP or a sentence-transformers model to ONNX (`export model --help`)."""
    try:
        from export import onnx_model
        from export.onnx_folder import ExportError
    except ImportError as error:  # torch, optimum or transformers absent at run time
        raise fail(
            f"model export needs {error.name or 'torch'}: {EXPORT_HINT}", EXIT_FAILURE
        ) from None
    logging.getLogger(onnx_model.__name__).setLevel(logging.INFO)  # its summary is the output
    command = typer.main.get_command(onnx_model.app)
    with user_errors():
        try:
            command.main(args=ctx.args, prog_name="stickerbot export model", standalone_mode=False)
        except click.ClickException as error:
            error.show()
            raise typer.Exit(error.exit_code) from None
        except ExportError as error:
            raise fail(str(error), EXIT_FAILURE) from None
        except ValueError as error:  # e.g. transformers refusing a model name or folder
            log.debug("export failed", exc_info=True)
            raise fail(f"cannot export: {error}", EXIT_FAILURE) from None


# -- export index -----------------------------------------------------------------------------


@export_app.command("index")
def export_index(
    catalog_dir: Annotated[Path, typer.Argument(help="Folder with catalog.jsonl and images.")],
    data: DataOption = None,
    config: ConfigOption = None,
    captions: Annotated[
        Path | None, typer.Option(help="Captions JSONL (from `export captions` or elsewhere).")
    ] = None,
    ocr: Annotated[
        bool | None,
        typer.Option("--ocr/--no-ocr", help="Read text off stickers [default: if installed]."),
    ] = None,
    nsfw: Annotated[
        bool | None, typer.Option("--nsfw/--no-nsfw", help="Score NSFW [default: if installed].")
    ] = None,
    clip_model: Annotated[
        Path | None, typer.Option(help="Exported CLIP folder: also index image vectors.")
    ] = None,
) -> None:
    """Distil a catalog into the data folder's index (a running bot picks it up by itself)."""
    from export.pipeline import PipelineOptions, run_pipeline

    with user_errors():
        settings = offline_settings(config, data)
    options = PipelineOptions(
        catalog_dir, settings.data, captions, ocr, nsfw, clip_model, settings.database_url
    )
    with user_errors(), contextlib.closing(StageBars()) as bars:
        summary = asyncio.run(run_pipeline(options, on_stage=bars.update, config=settings.engine))
    _print_pipeline(summary, settings.data)


def _print_pipeline(summary: PipelineSummary, data: Path) -> None:
    typer.echo(f"Indexed {summary.indexed} stickers into {data}.")
    if summary.skipped:
        reasons = ", ".join(f"{n} {reason}" for reason, n in summary.skipped.most_common())
        typer.echo(f"Skipped {sum(summary.skipped.values())}: {reasons}.")
    if summary.captions_applied:
        typer.echo(f"Captions applied: {summary.captions_applied}.")
    if summary.ocr_found is not None:
        typer.echo(f"OCR texts found: {summary.ocr_found}.")
    if summary.nsfw_flagged is not None:
        typer.echo(f"Flagged NSFW: {summary.nsfw_flagged} (score >= {summary.nsfw_threshold:g}).")
    typer.echo(f"Crowd: {summary.crowd_events} stored events feed the crowd text.")
    kinds = sorted(set(summary.cache_hits) | set(summary.cache_misses))
    cache = ", ".join(
        f"{kind} {summary.cache_hits[kind]} reused/{summary.cache_misses[kind]} computed"
        for kind in kinds
    )
    typer.echo(f"Cache: {cache or 'unused'}.")
    stages = ", ".join(f"{name} {secs:.1f}" for name, secs in summary.seconds.items())
    typer.echo(f"Seconds: {stages} (total {sum(summary.seconds.values()):.1f}).")


# -- export captions, import u-sticker ----------------------------------------------------------


@export_app.command("captions")
def export_captions(
    catalog_dir: Annotated[Path, typer.Argument(help="Folder with catalog.jsonl and images.")],
    out: Annotated[Path, typer.Argument(help="Captions JSONL; an interrupted run resumes.")],
    endpoint: Annotated[
        str, typer.Option(help="OpenAI-compatible API base, e.g. http://host:8080/v1")
    ],
    model: Annotated[str, typer.Option(help="Model name the server expects.")],
    api_key: Annotated[str | None, typer.Option(envvar="STICKERBOT_CAPTION_API_KEY")] = None,
    concurrency: Annotated[int, typer.Option(min=1)] = 4,
) -> None:
    """Caption a catalog with a vision-language model into a resumable JSONL file."""
    from export.captions import CaptionReport, caption_catalog

    with user_errors(), tqdm(unit="sticker", desc="captions", disable=None) as bar:

        def progress(report: CaptionReport) -> None:
            bar.total, bar.n = report.total, report.finished
            bar.refresh()

        report = asyncio.run(
            caption_catalog(
                catalog_dir,
                out,
                endpoint=endpoint,
                model=model,
                api_key=api_key,
                concurrency=concurrency,
                on_progress=progress,
            )
        )
    failures = ", ".join(f"{reason} {count}" for reason, count in report.failed.most_common())
    typer.echo(
        f"{report.done} captioned, {report.skipped_existing} already done, "
        f"{report.failed_total} failed{': ' + failures if failures else ''}"
    )


@import_app.command("u-sticker")
def import_usticker_command(
    src: Annotated[Path, typer.Argument(help="The U-Sticker dataset folder.")],
    out_dir: Annotated[Path, typer.Argument(help="Benchmark folder to write.")],
    holdout: Annotated[int, typer.Option(min=1, help="Sends per user held out as queries.")] = 1,
    overwrite: bool = False,
) -> None:
    """Convert U-Sticker conversations into catalog.jsonl, history.jsonl and queries.jsonl."""
    from export.usticker import UStickerError, import_usticker

    with user_errors(), tqdm(unit="conversation", desc="u-sticker", disable=None) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            report = import_usticker(
                src, out_dir, holdout=holdout, overwrite=overwrite, on_progress=progress
            )
        except UStickerError as error:  # the source folder or a conversation file is malformed
            raise fail(str(error), EXIT_BAD_INPUT) from None
    typer.echo(
        f"{report.stickers} stickers, {report.history_events} history events, "
        f"{report.queries} queries from {report.conversations} conversations"
    )
    if report.stickers_without_file:
        typer.echo(
            f"warning: {report.stickers_without_file} stickers have no file under {src}; "
            "their catalog lines have file null (the build skips them as no_file)",
            err=True,
        )
