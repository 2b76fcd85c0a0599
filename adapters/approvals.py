"""CI environment approvals (GitHub Actions' deployment reviews of a workflow run) into facts.

GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals answers with the review history of a
run: who approved or rejected deploying it to which environments, and why. That is evidence that
people outside gooseterm looked at the run; it is not a gooseterm approval (those are signed with
the approver's own key and bound to the evidence), so it is recorded as its own evidence kind.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from gooseterm.adapters.documents import load_json
from gooseterm.adapters.errors import EvidenceError


class EnvironmentReview(BaseModel):
    """One review: its state, who gave it, for which environments, with what comment."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    state: Literal["approved", "rejected", "pending"]
    """GitHub's review state."""
    user: str
    """The reviewer's login."""
    environments: list[str]
    """The environments the review covers."""
    comment: str
    """The reviewer's comment (may be empty)."""


class EnvironmentApprovalsFacts(BaseModel):
    """The reviews of one workflow run, with the environments approved and rejected."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    kind: Literal["environment_approvals"] = "environment_approvals"
    """Evidence kind, for dispatch and storage."""
    source: str | None
    """Where the review history came from, as the caller named it."""
    reviews: list[EnvironmentReview]
    """Every review, in the order the API gave them."""
    approved: list[str]
    """Environments with an approving review and no rejecting one, sorted."""
    rejected: list[str]
    """Environments with a rejecting review, sorted."""


def parse_environment_approvals(data: bytes, source: str | None = None) -> EnvironmentApprovalsFacts:
    """Parse GitHub's environment-approvals array (the `get-reviews-for-run` answer)."""
    document = load_json(data, source)
    if not isinstance(document, list):
        raise EvidenceError("environment approvals must be a JSON array of reviews", path=source,
                            hint="Record GitHub's /actions/runs/{run_id}/approvals answer")
    reviews = []
    for index, item in enumerate(document):
        where = f"[{index}]"
        if not isinstance(item, dict) or item.get("state") not in ("approved", "rejected", "pending"):
            raise EvidenceError("a review needs a state of approved, rejected or pending", path=source, field=f"{where}.state")
        user = item.get("user") or {}
        envs = item.get("environments")
        if not isinstance(user, dict) or not isinstance(user.get("login"), str) or not isinstance(envs, list):
            raise EvidenceError("a review needs user.login and an environments list", path=source, field=where)
        names = [e.get("name") for e in envs if isinstance(e, dict) and isinstance(e.get("name"), str)]
        reviews.append(EnvironmentReview(state=item["state"], user=user["login"], environments=names,
                                         comment=str(item.get("comment") or "")))
    rejected = sorted({e for r in reviews if r.state == "rejected" for e in r.environments})
    approved = sorted({e for r in reviews if r.state == "approved" for e in r.environments} - set(rejected))
    return EnvironmentApprovalsFacts(source=source, reviews=reviews, approved=approved, rejected=rejected)
