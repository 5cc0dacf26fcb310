"""In real headless Chromium (issue 16 items 5 and 7): an admin gives an agent an e-mail
address, finds that change in the audit log by filtering it, and reads the order's history with
its tracking facts and the store's capture."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.test_browser_users import browser, server, signed_in  # noqa: F401  (fixtures)


def test_an_admin_sets_an_email_and_reads_the_audit_log_and_history(
    browser,  # noqa: F811  (the fixture imported above)
    server: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    page = signed_in(browser, server, "ada")
    page.goto(f"{server}/admin/users/anna")
    page.get_by_label("E-mail").fill("anna@luma.example")
    page.get_by_role("button", name="Save roles and time zone").click()
    # expect() waits for the redirect's page; content() read mid-navigation once returned "" in CI
    expect(page.get_by_role("status").first).to_contain_text("anna: email changed.")

    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Kind").select_option("user.changed")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**kind=user.changed**")
    rows = page.locator("#audit tbody tr")
    expect(rows).to_have_count(1)
    assert "anna@luma.example" in rows.first.inner_text()
    assert "CET" in rows.first.inner_text()  # ada's zone, Europe/Berlin
    page.screenshot(path=str(tmp_path / "audit.png"), full_page=True)

    page.goto(f"{server}/orders/000000101")
    history = page.locator("#history")
    text = history.inner_text()
    assert "card PAY-7731902: 118.80 USD captured" in text
    assert "Tracking comment" in text and "Left at front door" in text
    link = history.get_by_role("link", name="https://tracking.example.com/1Z999AA10123456784")
    assert link.get_attribute("rel") == "noopener noreferrer"
    history.screenshot(path=str(tmp_path / "history.png"))
