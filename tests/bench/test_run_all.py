"""`make bench` without the tree-crown builder: those benches are skipped with a message naming the file and how to
get it; the others run; the exit status says something was left out."""
import subprocess

from bench import run_all


def test_benches_on_the_tree_crowns_are_skipped_with_the_missing_file_named_the_others_run(tmp_path, monkeypatch,
                                                                                         capsys):
    ran = []

    def fake_run(cmd, cwd=None):
        ran.append([cmd[1].rsplit("/", 1)[-1], *cmd[2:]])     # the bench's name, its arguments
        return subprocess.CompletedProcess(cmd, 0)
    monkeypatch.setattr(run_all.subprocess, "run", fake_run)
    monkeypatch.setattr(run_all, "AERIAL_WORK", str(tmp_path / "work"))     # no set built earlier
    missing = tmp_path / "shared" / "data" / "aerial_trees.py"
    assert run_all.main(["--skip-quality", "--skip-memory", "--data-script", str(missing)]) == 1
    out, err = capsys.readouterr()
    assert f"skipped: {missing}: not found." in out and "--data-script PATH" in out
    assert f"error: 10 benches skipped: {missing}: not found." in err
    names = [r[0] for r in ran]
    assert names[:len(run_all.SPEED)] == run_all.SPEED                     # the speed benches all ran
    demo = [r for r in ran if "--demo" in r or any(x.endswith("demo.dips") for x in r)]
    assert len(demo) == 5 and demo[0][:3] == ["real_aerial.py", "--demo", "120"]
    assert not any(x.endswith("trees.dips") for r in ran for x in r)
    assert not any(r[0] == "real_aerial.py" and "--demo" not in r for r in ran)

    ran.clear()                                                              # with the builder: everything runs
    missing.parent.mkdir(parents=True)
    missing.write_text("# the builder\n")
    assert run_all.main(["--skip-quality", "--skip-memory", "--data-script", str(missing)]) == 0
    assert len(ran) == len(run_all.SPEED) + len(run_all.AERIAL)
    assert ["--data-script", str(missing)] == ran[len(run_all.SPEED)][-2:]
