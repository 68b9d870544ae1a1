"""Configuration: defaults, env over file, one line per problem, secrets masked in check-config."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import SPECS, Settings, load_settings
from bot.errors import ConfigError


def test_defaults_are_valid_and_every_setting_has_help() -> None:
    s = load_settings({})
    assert s.sidecar_addr == "0.0.0.0:8080" and s.llm_max_steps == 6
    assert not s.model_enabled
    assert all(spec.help and spec.env for spec in SPECS.values())


def test_env_overrides_file_and_file_overrides_default(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("log_aliases:\n  api: /ecs/api-prod\nworkers: 4\nllm_model: from-file\n")
    s = load_settings({"CLOUDOPS_CONFIG": str(cfg), "CLOUDOPS_LLM_MODEL": "from-env"})
    assert s.log_aliases == {"api": "/ecs/api-prod"} and s.workers == 4 and s.llm_model == "from-env"
    assert s.source["workers"] == "file" and s.source["llm_model"] == "env"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({"SLACK_BOT_TOKEN": "xapp-wrong", "CLOUDOPS_WORKERS": "lots",
                       "CLOUDOPS_SIDECAR_ADDR": "nope", "CLOUDOPS_DEFAULT_WINDOW": "forever"},
                      require_slack=True)
    text = "\n".join(err.value.problems)
    for needle in ("xoxb-", "CLOUDOPS_WORKERS", "CLOUDOPS_SIDECAR_ADDR", "CLOUDOPS_DEFAULT_WINDOW",
                   "SLACK_APP_TOKEN is required"):
        assert needle in text


def test_check_config_masks_secrets_and_fails_with_one_line_per_problem(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1234567890-secretpart")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-abcdefghijklmnop")
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert "secretpart" not in out and "abcdefghijklmnop" not in out
    assert "SLACK_BOT_TOKEN" in out and "xoxb-…(set)" in out
    monkeypatch.setenv("CLOUDOPS_LLM_MAX_STEPS", "0")
    monkeypatch.setenv("CLOUDOPS_AWS_RETRY_MODE", "yolo")
    assert main(["check-config"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("config error:") for line in err)


def test_run_without_tokens_explains_instead_of_crashing(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN is required" in err and "Traceback" not in err


def test_prices_feed_the_cost_estimate() -> None:
    s = Settings.from_values(llm_prices={"m": "1.00/2.00"})
    assert s.price_per_token("m") == (1e-6, 2e-6)
    assert s.price_per_token("unknown") == (0.0, 0.0)


def test_readme_documents_every_setting() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    missing = [spec.env for spec in SPECS.values() if f"`{spec.env}`" not in readme]
    assert not missing, f"README configuration table lacks {missing}"
