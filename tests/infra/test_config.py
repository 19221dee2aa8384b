"""Stack settings: read once from config with the shared defaults, validated before anything is created."""

from __future__ import annotations

import dataclasses

import pytest
from program_mocks import run_program

from infra.config import EmailSubscription, GlueJobSettings, RetentionSettings, StackSettings, load_settings
from pipeline.settings import DEFAULT_ALERT_POLICY, DEFAULT_CURATION_POLICY


def settings_from(config: dict[str, str], stack: str = "dev") -> StackSettings:
    loaded: list[StackSettings] = []
    run_program(lambda: loaded.append(load_settings()), config, stack=stack)
    return loaded[0]


def test_dev_config_is_read_into_typed_settings(dev_config):
    settings = settings_from(dev_config)
    assert settings.stack == "dev"
    assert settings.region == "us-east-1"
    assert settings.resource_prefix == "hc-accred-dev"
    assert settings.glue_database_name == "hc_accred_dev"
    assert settings.glue == GlueJobSettings(
        worker_type="G.1X", number_of_workers=2, flex=True, timeout_minutes=60
    )
    assert settings.notifier.memory_mb == 512 and settings.notifier.timeout_seconds == 120
    assert settings.alert_policy == DEFAULT_ALERT_POLICY
    assert settings.curation_policy == DEFAULT_CURATION_POLICY
    assert settings.schedule_expression == "cron(0 6 * * ? *)"
    assert settings.state_digest_states == ("CA",)
    assert (
        EmailSubscription(topic="critical", email="ca-compliance@example.org", state="CA")
        in settings.subscriptions
    )


def test_missing_keys_fall_back_to_the_shared_defaults():
    settings = settings_from({"aws:region": "eu-west-1", "healthcare-accreditation:namePrefix": "acc"})
    assert settings.alert_policy == DEFAULT_ALERT_POLICY
    assert settings.curation_policy == DEFAULT_CURATION_POLICY
    assert settings.retention == RetentionSettings()
    assert settings.subscriptions == ()
    assert settings.state_digest_states == ()


def test_stack_name_is_part_of_every_physical_name(dev_config):
    settings = settings_from(dev_config, stack="prod")
    assert settings.glue_database_name == "hc_accred_prod"
    assert settings.athena_workgroup_name == "hc-accred-prod"
    assert settings.resource_prefix == "hc-accred-prod"


def test_tier_bounds_come_from_config_and_are_validated(dev_config):
    config = {**dev_config, "healthcare-accreditation:highMaxDays": "20"}
    with pytest.raises(ValueError, match="tier bounds"):
        settings_from(config)


BASE = StackSettings(stack="dev", region="us-east-1", name_prefix="hc-accred")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name_prefix": "Has_Upper"}, "namePrefix"),
        ({"name_prefix": "a-very-long-name-prefix"}, "namePrefix"),
        ({"glue": GlueJobSettings(worker_type="G.4X", flex=True)}, "glueFlex"),
        ({"glue": GlueJobSettings(worker_type="Z.9X", flex=False)}, "glueWorkerType"),
        ({"retention": RetentionSettings(log_days=31)}, "logRetentionDays"),
        ({"retention": RetentionSettings(snapshot_transition_days=10)}, "snapshotTransitionDays"),
        ({"retention": RetentionSettings(snapshot_expiry_days=30)}, "snapshotExpiryDays"),
        ({"athena_bytes_scanned_cutoff": 1024}, "athenaBytesScannedCutoff"),
        ({"subscriptions": (EmailSubscription("critical", "not-an-address"),)}, "e-mail"),
        ({"subscriptions": (EmailSubscription("status", "a@b.org", state="CA"),)}, "per-state"),
        ({"subscriptions": (EmailSubscription("urgent", "a@b.org"),)}, "unknown topic"),
    ],
)
def test_invalid_settings_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(BASE, **change)


def test_one_address_on_one_topic_from_both_lists_is_refused_with_one_line_naming_both(dev_config):
    """SNS keeps one subscription per topic, protocol and endpoint, each with its own attributes (one
    filter policy): the all-states subscription and a per-state one of the same address on the same tier
    topic would be two subscriptions, and the second Subscribe fails ("Subscription already exists with
    different attributes") after most of the stack exists. The config is refused before anything is created.

    Sources: "Subscribe", Amazon SNS API Reference, https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html;
    "Amazon SNS subscription filter policies",
    https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html
    """
    config = {
        **dev_config,
        "healthcare-accreditation:alertEmails": '{"high": ["Team@Example.org"]}',
        "healthcare-accreditation:stateAlertEmails": '{"TX": {"high": ["team@example.org"]}}',
    }
    with pytest.raises(ValueError) as refused:
        settings_from(config)
    message = str(refused.value)
    assert "\n" not in message
    assert "team@example.org" in message.lower() and "high" in message
    assert "alertEmails" in message and "stateAlertEmails.TX" in message


@pytest.mark.parametrize(
    ("alert_emails", "state_alert_emails"),
    [
        ('{"critical": ["a@b.org", "a@b.org"]}', "{}"),
        ("{}", '{"TX": {"critical": ["a@b.org"]}, "CA": {"critical": ["a@b.org"]}}'),
    ],
)
def test_any_second_subscription_of_an_address_to_a_topic_is_refused(
    dev_config, alert_emails, state_alert_emails
):
    config = {
        **dev_config,
        "healthcare-accreditation:alertEmails": alert_emails,
        "healthcare-accreditation:stateAlertEmails": state_alert_emails,
    }
    with pytest.raises(ValueError, match=r"a@b\.org.*critical"):
        settings_from(config)


def test_one_address_on_several_topics_is_fine(dev_config):
    config = {
        **dev_config,
        "healthcare-accreditation:alertEmails": '{"high": ["a@b.org"], "medium": ["a@b.org"]}',
        "healthcare-accreditation:stateAlertEmails": '{"TX": {"critical": ["a@b.org"]}}',
    }
    assert len(settings_from(config).subscriptions) == 3
