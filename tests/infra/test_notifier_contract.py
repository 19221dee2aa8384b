"""What infra/ and the notifier package agree on, since neither may import the other at deploy time."""

from accreditation_notifier import subscriptions
from accreditation_notifier.handler import NotifierSettings

from infra import notifications
from pipeline.settings import AlertPolicy

TOPICS = {tier: f"arn:aws:sns:us-east-1:123456789012:{tier}" for tier in ("critical", "high", "medium")}


def _environment(**overrides):
    arguments = {
        "topic_arns": TOPICS,
        "idempotency_table": "idempotency",
        "alert_policy": AlertPolicy(critical_max_days=20, high_max_days=45, medium_max_days=80),
        "state_digest_states": ("CA", "TX"),
        "log_level": "INFO",
        "metrics_stack": "hc-accred-dev",
    }
    arguments.update(overrides)
    return notifications.notifier_environment(**arguments)


def test_the_function_accepts_the_environment_infra_sets():
    settings = NotifierSettings.from_env(_environment())
    assert settings.topic_arns == TOPICS
    assert settings.idempotency_table == "idempotency"
    policy = settings.policy
    assert (policy.critical_max_days, policy.high_max_days, policy.medium_max_days) == (20, 45, 80)
    assert set(policy.state_digest_states) == {"CA", "TX"}


def test_no_state_subscribers_means_no_state_digests():
    settings = NotifierSettings.from_env(_environment(state_digest_states=()))
    assert tuple(settings.policy.state_digest_states) == ()


def test_subscriptions_use_the_filter_policies_the_digests_are_published_for():
    assert notifications.TIER_FILTER_POLICY == subscriptions.NATIONAL_FILTER_POLICY
    for state in ("TX", "CA", "NY"):
        assert notifications.state_filter_policy(state) == subscriptions.state_filter_policy(state)
