"""`gooseterm tui` (and `gooseterm` alone): the dashboard on the configured ledger and org."""

from __future__ import annotations

from . import Context, dashboard_options, main, pass_ctx


@main.command()
@dashboard_options
@pass_ctx
def tui(ctx: Context, read_only: bool, refresh: float | None):
    """Open the dashboard: states, graph, pipeline, approvals, ledger and runbooks."""
    from ..tui.app import (  # Textual loads only for the dashboard
        REFRESH_DEFAULT,
        make_app,
    )

    make_app(ctx.workspace, read_only=read_only, refresh=REFRESH_DEFAULT if refresh is None else refresh).run()
