"""CPU seconds of each stage of one population sync, in one process, one stage after another.

Where the time goes (bench/results/population.md): context, extract, the Great Expectations import,
validate (no Data Docs), the stored parts the validating process makes beside load (``--stored``), load.
Usage: HUB_SECRET_KEY=x python bench/population_stages.py PATH/population.db [--stored]
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="stages-"))
    db = Path(sys.argv[1]).resolve()
    (folder / "hub.yaml").write_text("database: sqlite:///var/hub.db\nlanding: var/landing\nsources:\n"
                                     f'  population: {{connector: population, url: "sqlite:///{db}"}}\n')
    os.chdir(folder)
    started = time.process_time()
    from hub.context import HubContext
    from hub.plugins import get_host
    from hub.stages.extract import extract, read_extract_info
    from hub.stages.ledger import new_run_id, start_run
    from hub.stages.load import load
    from hub.stages.validate import validate

    ctx = HubContext.from_config(folder / "hub.yaml", host=get_host())
    ctx.ensure_store()
    out = {"imports+context": time.process_time() - started}
    run_id = new_run_id()
    start_run(ctx, "population", run_id)

    def timed(name: str, fn, *args) -> None:  # type: ignore[no-untyped-def]
        t = time.process_time()
        fn(*args)
        out[name] = time.process_time() - t

    timed("extract", extract, ctx, "population", run_id)
    def gx() -> None:
        from hub.quality.expectations import _batch_definition

        _batch_definition()

    timed("GX import+context", gx)
    timed("validate", lambda: validate(ctx, "population", run_id, docs=False))
    if "--stored" in sys.argv:  # what the validating process does beside load, timed here
        from hub.connector.landing import RunFolder, part_path, read_table
        from hub.stages.beside import _stored_part

        hook = _stored_part(ctx, "population", run_id)

        def stored() -> None:
            for stream, ext in read_extract_info(ctx, "population", run_id).streams.items():
                folder_of = RunFolder(ctx.landing, "population", run_id).stream_dir(stream)
                for i in range(ext.files):
                    hook(stream, i, read_table(part_path(folder_of, "valid", i)))

        timed("stored parts (hash+crypto)", stored)
    timed("load", load, ctx, "population", run_id)
    out["peak RSS MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(" | ".join(f"{k} {v:.2f}" for k, v in out.items()))
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
