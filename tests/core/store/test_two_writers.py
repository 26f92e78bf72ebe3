"""Two writers on one project: the inspector accepts and rejects proposals while another process recomputes them.
Every edit either lands whole or is refused in words (the proposal is gone, or it changed meanwhile); no
database exception escapes and the file stays consistent."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from core.store.project import ChangedMeanwhile, Project
from core.store.repos.proposals import NewProposal

REPO = Path(__file__).resolve().parents[3]
ROUNDS = 200

REGENERATOR = """
import random, sys
from core.store.project import Project
from core.store.repos.proposals import NewProposal
p = Project.open(sys.argv[1])
ids = p.images.ids()
rng = random.Random(0)
print("ready", flush=True)
for i in range(int(sys.argv[2])):
    image_id = ids[i % len(ids)]
    boxes = [NewProposal((rng.uniform(0, 20), rng.uniform(0, 20), rng.uniform(30, 60), rng.uniform(30, 45)), -1,
                         rng.random(), rng.random()) for _ in range(4)]
    p.proposals.replace(image_id, boxes)
print("done", flush=True)
"""


def test_accepting_while_another_process_recomputes(project):
    ids = project.images.ids()
    for image_id in ids:
        project.proposals.replace(image_id, [NewProposal((1, 1, 30, 30), -1, 0.5, 0.5)])
    proc = subprocess.Popen([sys.executable, "-c", REGENERATOR, str(project.path), str(ROUNDS)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    landed = refused = 0
    try:
        for i in range(ROUNDS):
            image_id = ids[i % len(ids)]
            pending = [r for r in project.proposals.list(image_id) if r.status == "pending"]
            if not pending:
                continue
            try:
                if i % 2:
                    project.proposals.accept(pending[0].id, None)
                else:
                    project.proposals.set_status(pending[-1].id, "rejected")
                landed += 1
            except (KeyError, ChangedMeanwhile):   # recomputed between the look and the edit: said, not crashed
                refused += 1
    finally:
        assert proc.stdout.readline().strip() == "done"
        proc.wait(timeout=120)
    assert proc.returncode == 0 and landed > 0
    con = sqlite3.connect(project.path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    # every box made from a proposal still points at a proposal that is accepted
    assert con.execute("SELECT count(*) FROM boxes b JOIN proposals p ON b.proposal_id = p.id "
                       "WHERE p.status != 'accepted'").fetchone()[0] == 0
    con.close()
    with Project.open(project.path) as again:
        assert again.proposals.count() > 0
