"""`flowmeter users add|list|remove`, then `up` requiring users on a public address."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from app.cli import cli
from app.users import authenticate, load_users
from tests.conftest import free_port


def test_add_prompts_for_the_password_and_writes_a_hash(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["users", "add", "fay", "--role", "finance", "--tenants", "a,b", "--file", str(path)],
        input="s3cret-pass\ns3cret-pass\n",
    )
    assert result.exit_code == 0, result.output
    assert "user fay (finance) saved" in result.output
    user = authenticate(load_users(path), "fay", "s3cret-pass")
    assert user.tenants == ("a", "b")
    listed = runner.invoke(cli, ["users", "list", "--file", str(path)])
    assert "fay\tfinance\ttenants=a,b" in listed.output
    assert "scrypt" not in listed.output
    removed = runner.invoke(cli, ["users", "remove", "fay", "--file", str(path)])
    assert removed.exit_code == 0 and load_users(path) == {}


def test_add_refuses_a_short_password_and_an_unknown_role(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    runner = CliRunner()
    short = runner.invoke(
        cli, ["users", "add", "x", "--role", "admin", "--file", str(path)], input="abc\nabc\n"
    )
    assert short.exit_code != 0 and "at least 8 characters" in short.output
    role = runner.invoke(
        cli,
        ["users", "add", "x", "--role", "ceo", "--password", "long-enough", "--file", str(path)],
    )
    assert role.exit_code != 0 and "'ceo' is not one of" in role.output
    assert not path.exists()


def test_without_a_file_the_command_says_what_to_set() -> None:
    env = {k: v for k, v in os.environ.items() if k != "FLOWMETER_USERS_FILE"}
    result = CliRunner().invoke(cli, ["users", "list"], env=env)
    assert result.exit_code != 0 and "FLOWMETER_USERS_FILE" in result.output


def test_up_refuses_to_run_open_on_a_public_address(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")}
    env.update(
        FLOWMETER_DATA_DIR=str(tmp_path / "data"),
        FLOWMETER_BIND="0.0.0.0",
        FLOWMETER_UI_PORT=str(free_port()),
        FLOWMETER_API_PORT=str(free_port()),
    )
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "up"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "FLOWMETER_BIND='0.0.0.0' exposes the dashboard" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # refused before opening the store
