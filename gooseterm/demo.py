"""`gooseterm demo`: a ledger seeded with the example org and a realistic few days of history.

service-c ends compliant (two signed approvals), service-b awaits its second approval, and
service-a is blocked by failing tests, a high-severity SAST finding and its dependencies. The
user signs as carol (compliance), who may approve service-b.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gooseterm.ledger.keys import KeyStore
from gooseterm.ledger.store import Draft, Ledger

from .kinds import EntryKind
from .orgconfig import OrgConfig
from .projections import project_appended
from .promotions import Orchestrator
from .settings import Settings

DEMO_IDENTITY = "carol"
CI_KEY = "ci"


class DemoClock:
    """A writer clock that replays history: it starts days ago and moves only forward."""

    def __init__(self, start: datetime):
        self.t = start

    def __call__(self) -> str:
        self.t += timedelta(seconds=3)
        return self.t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def at(self, when: datetime) -> None:
        """Jump forward to `when` (never backwards)."""
        self.t = max(self.t, when)


def build_demo(settings: Settings, org: OrgConfig, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> dict:
    """Create the demo ledger and keys under the settings' home; returns a summary."""
    end = now()
    clock = DemoClock(end - timedelta(days=5))
    store = KeyStore(settings.keys_dir)
    people = sorted(org.org.people)
    signers = {n: (store.load(n) if n in store.names() else store.create(n)) for n in [*people, CI_KEY]}
    origin = org.org.ledger_origin
    ledger_signer = store.load(origin) if origin in store.names() else store.create(origin)
    admins = [n for n in people if "admin" in org.org.people[n].roles]
    ledger = Ledger.create(settings.ledger_path, origin, ledger_signer, [(signers[n].vkey, ["admin", "approver"]) for n in admins], clock=clock,
                           projector=project_appended)
    boss = signers[admins[0]]
    for n in people:
        if n not in admins:
            ledger.append(Draft(EntryKind.KEY_ADDED, {"vkey": signers[n].vkey, "roles": ["approver"]}), [boss])
    ledger.append(Draft(EntryKind.KEY_ADDED, {"vkey": signers[CI_KEY].vkey, "roles": ["ci"]}), [boss])
    act = {n: Orchestrator(ledger, org, s) for n, s in signers.items()}
    evidence_dir = org.local_evidence_dir()

    def collect(service: str) -> None:
        for kind, name in (("junit", "junit.xml"), ("sarif", "bandit.sarif"), ("coverage", "coverage.xml"), ("metrics", "metrics.json")):
            path = evidence_dir / service / name
            act[CI_KEY].add_evidence(service, kind, path.read_bytes(), f"evidence/{service}/{name}", collector="files")

    clock.at(end - timedelta(days=4, hours=20))
    for service in ("service-c", "service-b", "service-a"):
        act[boss.name].onboard(service, (org.root / "services" / f"{service}.yaml").read_bytes())
    clock.at(end - timedelta(days=4))
    collect("service-c")
    act["alice"].request("service-c", "compliance_ready")
    pc = act["alice"].request("service-c", "compliant").promotion
    clock.at(end - timedelta(days=3, hours=6))
    act["bob"].approve(pc)
    clock.at(end - timedelta(days=3, hours=2))
    act["carol"].approve(pc)
    clock.at(end - timedelta(days=1, hours=8))
    collect("service-b")
    act["alice"].request("service-b", "compliance_ready")
    clock.at(end - timedelta(hours=5))
    pb = act["alice"].request("service-b", "compliant").promotion
    clock.at(end - timedelta(hours=2))
    act["bob"].approve(pb)
    clock.at(end - timedelta(hours=1))
    collect("service-a")
    pa = act["alice"].request("service-a", "compliance_ready")
    ledger.checkpoint()
    size = ledger.size()
    ledger.close()
    settings.remember_identity(DEMO_IDENTITY)
    return {"ledger": str(settings.ledger_path), "entries": size, "identity": DEMO_IDENTITY,
            "service_b_promotion": pb, "service_a_promotion": pa.promotion, "service_a_status": pa.status}
