"""The `stickerbot` command: build an index, benchmark, demo, serve, export models, emulate.

Every failure a user can cause or fix reaches them as one line on stderr, never a traceback:
exit code 2 for bad input or configuration, 1 for a failure while running.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli_offline import export_app, import_app
from bot.cli_support import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    HELP_MARKUP,
    ConfigOption,
    DataOption,
    Progress,
    SecretsRedacted,
    TelegramErrorsInOneLine,
    config_path,
    fail,
    offline_settings,
    user_errors,
)
from bot.config import OfflineSettings, Settings, load_offline_settings, load_settings
from bot.unpacked_copies import hold, remove_stale_copies, running_copy
from engine.catalog import require_dataset
from engine.errors import StickerbotError

if TYPE_CHECKING:  # the engine loads models and native libraries: only when a command needs it
    from engine.build import BuildReport
    from engine.demo import DemoRun
    from engine.types import StickerRecord

log = logging.getLogger(__name__)

DEFAULT_DEMO_DATA = Path("var/demo")  # apart from the bot's data: the demo may wipe its folder
DEFAULT_RUN = Path("run.jsonl")
RESULTS_DIR = Path("bench-results")
NSFW_CACHE = Path("cache/embed-cache.sqlite")  # under RESULTS_DIR: outlives the scratch folders
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=HELP_MARKUP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Stickerbot: sticker suggestions that fit both the words and the person.",
)
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")


def main() -> None:
    app(prog_name="stickerbot")


@app.callback()
def root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    """Stickerbot: sticker suggestions that fit both the words and the person."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format=LOG_FORMAT)
    # Some libraries set their own loggers to DEBUG (bm25s does, on import), which bypasses the
    # root level; the handler's level holds them back. INFO passes for the few loggers this
    # command turns up on purpose (export summaries, the emulator's URLs).
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.DEBUG if verbose else logging.INFO)
        if not verbose:
            handler.addFilter(TelegramErrorsInOneLine())
    _remove_stale_copies()


def _remove_stale_copies() -> None:
    """The single binary marks its unpacked copy in use and removes those of runs a kill -9
    stopped (bot.unpacked_copies). Never in the way of the command: a failure is logged."""
    own = running_copy()
    if own is None:
        return
    try:
        hold(own)
        removed = remove_stale_copies(own)
    except OSError as error:
        log.warning("could not look for unpacked copies that stopped runs left: %s", error)
        return
    if removed:
        names = ", ".join(copy.name for copy in removed)
        log.warning(
            "removed the copies that runs stopped by kill -9 left in %s: %s", own.parent, names
        )


# -- build ------------------------------------------------------------------------------------


@app.command()
def build(
    catalog_dir: Annotated[
        Path | None,
        typer.Argument(
            help="Folder with catalog.jsonl and images. Without it, the stickers the data "
            "folder already holds are indexed again (after an upgrade or a new text model)."
        ),
    ] = None,
    data: DataOption = None,
    config: ConfigOption = None,
) -> None:
    """Index a benchmark-format folder (catalog.jsonl + images) into the data folder."""
    from engine.catalog import read_catalog

    with user_errors():
        settings = offline_settings(config, data)
        records = None if catalog_dir is None else read_catalog(catalog_dir)
        start = time.perf_counter()
        report = asyncio.run(_build(records, settings))
    seconds = time.perf_counter() - start
    typer.echo(f"Indexed {report.indexed} stickers into {settings.data} in {seconds:.1f} s.")
    skipped = sum(report.skipped.values())
    if skipped:
        reasons = ", ".join(f"{count} {reason}" for reason, count in report.skipped.most_common())
        typer.echo(f"Skipped {skipped}: {reasons}.")


async def _build(records: list[StickerRecord] | None, settings: OfflineSettings) -> BuildReport:
    """Builds `records`, or (None) the stickers the store already holds, into a new index."""
    from engine.build import BuildHooks
    from engine.embed_cache import EmbedCache
    from engine.engine import Engine

    data = settings.data
    engine = await Engine.open(
        data, settings.engine, database_url=settings.database_url, rebuilding=True
    )
    try:
        if records is None:
            records = await engine.stored_stickers()
            if not records:
                raise StickerbotError(
                    f"{data} holds no stickers to index again; name a catalog folder"
                )
        # The cache in the data folder makes a rebuild compute only stickers that changed.
        with (
            contextlib.closing(EmbedCache.in_folder(data)) as cache,
            contextlib.closing(Progress(len(records), "indexing")) as bar,
        ):
            return await engine.build(records, on_progress=bar.update, hooks=BuildHooks(cache))
    finally:
        await engine.close()


# -- bench ------------------------------------------------------------------------------------


@app.command()
def bench(
    dataset: Annotated[Path, typer.Argument(help="Benchmark folder (FORMAT.md).")],
    run_out: Annotated[
        Path, typer.Option("--run-out", help="Stickerbot's run file.")
    ] = DEFAULT_RUN,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print Stickerbot's metrics as `score.py --json` does.")
    ] = False,
    results: Annotated[
        Path | None, typer.Option(help="Results JSON [default: bench-results/DATASET.json].")
    ] = None,
    chart: Annotated[Path | None, typer.Option(help="Also draw a PNG bar chart.")] = None,
    baselines: Annotated[bool, typer.Option(help="Run the peers' baselines too.")] = True,
    nsfw: Annotated[
        bool,
        typer.Option(help="Also count stickers flagged NSFW (NudeNet, ~90 ms/sticker, cached)."),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Run the benchmark protocol for Stickerbot and the baselines, score and compare them.

    Stickerbot runs with the settings file's `[engine]` table (text model, CLIP model, recall
    depth), so a model exported with `stickerbot export model` can be measured before serving."""
    from engine.bench.protocol import write_run
    from engine.bench.report import format_table
    from engine.bench.runner import STICKERBOT, dataset_name, run_bench

    def started(name: str) -> None:
        typer.echo(f"running {name} ...", err=True)

    with user_errors():
        require_dataset(dataset)
        engine_config = load_offline_settings(config_path(config)).engine
        results = results or RESULTS_DIR / f"{dataset_name(dataset)}.json"
        _folders_for(run_out, results, chart)
        cache = RESULTS_DIR / NSFW_CACHE if nsfw else None
        report = asyncio.run(
            run_bench(
                dataset,
                config=engine_config,
                baselines=baselines,
                on_start=started,
                nsfw_cache=cache,
            )
        )
        ours = report.ranker(STICKERBOT)
        write_run(ours.rankings, run_out)
        summary = report.to_json()
        results.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        if chart is not None:
            _chart([summary], chart)
    # With --json, stdout carries only the metrics, so it can be compared with score.py's.
    typer.echo(format_table(summary), err=as_json)
    if ours.nsfw_flagged is not None:
        typer.echo(f"stickers flagged NSFW: {ours.nsfw_flagged}", err=as_json)
    typer.echo(f"run file: {run_out}  results: {results}", err=True)
    if as_json:
        typer.echo(json.dumps(ours.metrics))


def _folders_for(*outputs: Path | None) -> None:
    """Creates the folders the files a run will write go in, before the run: a path that
    cannot be written then fails in one line at once, not after minutes of work."""
    for path in outputs:
        if path is None:
            continue
        if path.is_dir():
            raise fail(f"{path} is a folder; give a file name", EXIT_BAD_INPUT)
        path.parent.mkdir(parents=True, exist_ok=True)


@app.command("bench-chart")
def bench_chart(
    results: Annotated[list[Path], typer.Argument(help="Results JSON files of `bench`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG file to write.")] = Path(
        "bench-results/chart.png"
    ),
) -> None:
    """Draw nDCG@10, MRR@10 and style@5 of every ranker, one panel per results file."""
    from engine.bench.report import read_results

    with user_errors():
        _chart([read_results(path) for path in results], out)
    typer.echo(f"chart: {out}")


def _chart(results: list[dict[str, Any]], out: Path) -> None:
    try:
        from engine.bench.report import write_chart

        write_chart(results, out)
    except ModuleNotFoundError as error:  # matplotlib is a dev dependency
        raise fail(f"charts need {error.name}: pip install -e '.[dev]'", EXIT_FAILURE) from None


@app.command("bench-scale")
def bench_scale(
    stickers: Annotated[
        int, typer.Option(min=1, help="Catalog size (PerSRV's pool: 543098).")
    ] = 50_000,
    queries: Annotated[int, typer.Option(min=0, help="Timed queries.")] = 1_000,
    users: Annotated[int, typer.Option(min=0, help="Users whose history is replayed.")] = 300,
    fake_vectors: Annotated[
        bool,
        typer.Option(help="Clustered random vectors instead of USE: index and ranking cost only."),
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Results JSON to write.")] = None,
) -> None:
    """Time suggestions and measure memory on a synthetic catalog of any size."""
    from engine.bench.scale import ScaleConfig, format_table, run_scale

    config = ScaleConfig(stickers=stickers, queries=queries, users=users, fake_vectors=fake_vectors)
    with user_errors():
        _folders_for(out)
        results = asyncio.run(run_scale(config, on_status=lambda s: typer.echo(s, err=True)))
        if out is not None:
            out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    typer.echo(format_table(results))


@app.command("bench-describe")
def bench_describe(
    dataset: Annotated[Path, typer.Argument(help="Benchmark folder (FORMAT.md).")],
    out: Annotated[Path, typer.Argument(help="New folder for the described copy.")],
    seed: Annotated[int, typer.Option(help="Seed of the random wording.")] = 0,
    uncaptioned: Annotated[
        bool,
        typer.Option(
            "--uncaptioned", help="Remove the captions instead, as a pack learnt live has none."
        ),
    ] = False,
) -> None:
    """Copy a dataset with its captions worded like a vision-language model's descriptions."""
    from engine.bench.described import write_described

    with user_errors():
        rewritten = write_described(dataset, out, seed, uncaptioned=uncaptioned)
    done = "removed from" if uncaptioned else "described in"
    typer.echo(f"{rewritten} captions {done} {out}")


@app.command("bench-pad")
def bench_pad(
    dataset: Annotated[Path, typer.Argument(help="Benchmark folder (FORMAT.md).")],
    out: Annotated[Path, typer.Argument(help="New folder for the padded copy.")],
    seed: Annotated[int, typer.Option(help="Seed of the words chosen.")] = 0,
) -> None:
    """Copy a dataset with words around its queries and typed picks ("the spy one", "un
    toboggan per favore"), in each query's language."""
    from engine.bench.padded import write_padded

    with user_errors():
        done = write_padded(dataset, out, seed)
    typer.echo(
        f"{done.queries} of {done.queries_read} queries and {done.picks} of {done.picks_read} "
        f"typed picks padded in {out}"
    )


@app.command("bench-reword")
def bench_reword(
    dataset: Annotated[Path, typer.Argument(help="Benchmark folder (FORMAT.md).")],
    out: Annotated[Path, typer.Argument(help="New folder for the re-worded copy.")],
    languages: Annotated[
        str, typer.Option(help="Comma-separated languages the users now type in, e.g. th,uk,ja.")
    ],
    seed: Annotated[int, typer.Option(help="Seed of each user's language and words.")] = 0,
) -> None:
    """Copy a dataset with each user's words in another language (CLDR keywords of the same
    meanings): for datasets whose captions are CLDR English names, as the development sets'."""
    from engine.bench.reworded import write_reworded

    with user_errors():
        done = write_reworded(dataset, out, [code for code in languages.split(",") if code], seed)
    typer.echo(
        f"{done.queries} of {done.queries_read} queries and {done.picks} of {done.picks_read} "
        f"typed picks re-worded in {out}"
    )


@app.command("bench-restyle")
def bench_restyle(
    dataset: Annotated[Path, typer.Argument(help="Benchmark folder (FORMAT.md).")],
    out: Annotated[Path, typer.Argument(help="New folder for the restyled copy.")],
    art: Annotated[
        Path,
        typer.Option(help="Folder of emoji images named by code points, like 1f431.png."),
    ],
    like: Annotated[
        str | None,
        typer.Option(help="Redraw the packs in this pack's style (default: the first style)."),
    ] = None,
) -> None:
    """Copy a dataset with the packs of one art style redrawn from other emoji artwork: for
    datasets whose captions are CLDR English names, as the development sets'."""
    from engine.bench.restyled import write_restyled

    with user_errors():
        done = write_restyled(dataset, out, art, like)
    typer.echo(
        f"{done.redrawn} stickers redrawn and {done.kept} kept as they were, in the packs "
        f"{', '.join(done.packs)}, in {out}"
    )


# -- demo -------------------------------------------------------------------------------------


@app.command()
def demo(
    data: Annotated[
        Path, typer.Option("--data", help="Folder for the demo's own index (wiped on rebuild).")
    ] = DEFAULT_DEMO_DATA,
) -> None:
    """Index the bundled demo pack, replay its users' history and show their suggestions."""
    from engine.demo import DEMO_DIR, read_demo_catalog, run_demo

    with user_errors():
        total = len(read_demo_catalog(DEMO_DIR))
        with contextlib.closing(Progress(total, "indexing demo pack")) as bar:
            run = asyncio.run(run_demo(data, on_progress=bar.update))
    _print_demo(run)


def _print_demo(run: DemoRun) -> None:
    if run.built:
        head = (
            f"Built the demo index: {run.stickers} stickers, {run.events} events replayed "
            f"in {run.seconds:.1f} s"
        )
    else:
        head = f"Loaded the demo index: {run.stickers} stickers ({run.seconds:.1f} s)"
    typer.echo(f"{head} (data in {run.data_dir}).")
    for answer in run.answers:
        typer.echo("")
        typer.secho(answer.scenario.title, bold=True)
        for rank, item in enumerate(answer.items, start=1):
            pack = item.pack_title or item.pack
            typer.echo(
                f"  {rank}. {item.score:5.2f}  {item.sticker_id:<32} {pack:<18} "
                f"{item.emoji or ' '} {item.caption or ''}  - {item.reason}"
            )
        if not answer.items:
            typer.echo("  (no suggestions)")


# -- serve ------------------------------------------------------------------------------------


@app.command()
def serve(config: ConfigOption = None) -> None:
    """Run the Telegram bot (token from STICKERBOT_TOKEN)."""
    with user_errors():
        settings = load_settings(config_path(config))
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    redacted = SecretsRedacted([settings.token.get_secret_value(), secret])
    for handler in logging.getLogger().handlers:
        handler.addFilter(redacted)
    from bot.app import serve as serve_bot

    with user_errors(), _starting_errors(settings):
        serve_bot(settings)


@contextlib.contextmanager
def _starting_errors(settings: Settings) -> Iterator[None]:
    """What stops the bot as it starts, in one line each: Telegram out of reach, a token it
    refuses, the webhook's port taken."""
    from telegram.error import InvalidToken, NetworkError, TelegramError

    try:
        yield
    except NetworkError as error:
        where = settings.base_url
        hint = "check the network, or api_url (STICKERBOT_API_URL)"
        raise fail(f"cannot reach Telegram at {where}: {error}; {hint}", EXIT_FAILURE) from None
    except InvalidToken:  # its message holds the token: not for logs
        hint = "set STICKERBOT_TOKEN to the token @BotFather gave the bot"
        raise fail(f"Telegram refused the token; {hint}", EXIT_BAD_INPUT) from None
    except TelegramError as error:
        raise fail(f"Telegram: {error}", EXIT_FAILURE) from None
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        where = f"{settings.bot.webhook_listen}:{settings.bot.webhook_port}"
        hint = "stop what uses it, or set [bot] webhook_port"
        raise fail(f"cannot listen on {where}: the port is taken; {hint}", EXIT_FAILURE) from None


# -- emulator ---------------------------------------------------------------------------------


@app.command()
def emulator(
    port: Annotated[int, typer.Option(min=0, max=65535, help="0 picks a free port.")] = 8081,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    packs: Annotated[
        Path | None, typer.Option(help="Folder whose subfolders are sticker sets.")
    ] = None,
    token: Annotated[str | None, typer.Option(help="Bot token the emulator accepts.")] = None,
    group_privacy: Annotated[
        bool, typer.Option(help="Deliver only commands and replies in groups, as Telegram does.")
    ] = True,
) -> None:
    """Run the local Bot API emulator until interrupted."""
    from bot.emulator.__main__ import parse_args
    from bot.emulator.__main__ import serve as serve_emulator

    argv = ["--host", host, "--port", str(port)]
    argv += ["--packs", str(packs)] if packs else []
    argv += ["--token", token] if token else []
    argv += [] if group_privacy else ["--no-group-privacy"]
    logging.getLogger("bot.emulator").setLevel(logging.INFO)  # it logs its URLs at start
    with user_errors(), contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_emulator(parse_args(argv)))
