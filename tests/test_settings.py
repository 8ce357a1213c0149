"""Settings: production refuses to start without secrets and passes Django's deployment checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "production-secret-key-for-the-check-only-0123456789",
    "NIK_HASH_KEY": "1:production-nik-hash-key-for-the-check-only",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "checkin.denpasarkota.go.id",
    "SITE_URL": "https://checkin.denpasarkota.go.id",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "NIK_HASH_KEY")}
    base.pop("FIELD_ENCRYPTION_KEY", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_nik_hash_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "NIK_HASH_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "NIK_HASH_KEY must be set" in result.stderr


def test_secret_can_come_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(PRODUCTION["SECRET_KEY"] + "\n")
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"} | {"SECRET_KEY_FILE": str(secret_file)}
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_migrations_are_complete():
    result = _manage("makemigrations", "--check", "--dry-run", env={"DEBUG": "true"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_mode_defaults_to_debug_and_runs_without_secrets():
    base = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL", "REDIS_URL")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_with_a_database_url_debug_defaults_off_and_secrets_are_required():
    base = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "SECRET_KEY_FILE")}
    base["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/never-used"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
