"""The dashboard in a real browser: headless Chromium loads `streamlit run` of the app
(served by the API fixture), waits for the charts and the overview table, saves a
screenshot, and finds no error in the browser console.

Needs the Debian packages `chromium` and `chromium-driver` (CI installs them).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from market_predictor.dashboard.horizons import FAN_TITLE
from tests.fixtures.ops import OPS_SYMBOLS
from tests.integration.dashboard.conftest import (
    ServedApi,
    child_environment,
    free_port,
    stop_group,
    wait_until_healthy,
)

CHROMEDRIVER = Path("/usr/bin/chromedriver")

# Part of `make test`: the API fixture is shared with the page tests, the browser adds ~15 s.
pytestmark = [
    pytest.mark.skipif(
        not CHROMEDRIVER.exists() or shutil.which("chromium") is None,
        reason="needs Chromium: apt-get install -y chromium chromium-driver",
    ),
]


@contextmanager
def dashboard_of(api: ServedApi) -> Iterator[str]:
    """The dashboard on `api`, started by the very command `mpp dashboard` runs."""
    from market_predictor.dashboard.launch import dashboard_service

    service = dashboard_service(api.url, "127.0.0.1", free_port())
    process = subprocess.Popen(
        service.argv,
        env=child_environment(MPP_API_URL=api.url, MPP_API_KEY=api.token),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_healthy(service.health_url, process)
        yield service.url
    finally:
        stop_group(process)


@pytest.fixture
def dashboard_url(served_api: ServedApi) -> Iterator[str]:
    with dashboard_of(served_api) as url:
        yield url


@pytest.fixture
def horizon_dashboard_url(horizon_api: ServedApi) -> Iterator[str]:
    with dashboard_of(horizon_api) as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1500,1400",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def texts(driver: object, selector: str, at_least: int) -> list[str] | None:
    """The text of every element matching `selector`, read in one script call (Plotly
    redraws replace its nodes, so element handles can go stale between calls); None
    until there are `at_least` of them."""
    found = driver.execute_script(  # type: ignore[attr-defined]
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent)",
        selector,
    )
    return list(found) if len(found) >= at_least else None


def chart_texts(driver: object, title: str, selector: str, at_least: int) -> list[str] | None:
    """Like `texts`, within the drawn Plotly chart whose title starts with `title`."""
    found = driver.execute_script(  # type: ignore[attr-defined]
        """
        const chart = Array.from(document.querySelectorAll('.js-plotly-plot')).find(
            c => (c.querySelector('.gtitle')?.textContent ?? '').startsWith(arguments[0]));
        if (!chart) return [];
        return Array.from(chart.querySelectorAll(arguments[1])).map(e => e.textContent);
        """,
        title,
        selector,
    )
    return list(found) if len(found) >= at_least else None


def test_overview_and_symbol_pages_render_the_symbols_with_no_console_error(
    dashboard_url: str, browser: object, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    wait = WebDriverWait(browser, 90)
    browser.get(dashboard_url)
    # The overview: its table (a canvas, so symbols are read from the outlook chart's axis).
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]'))
    ticks = wait.until(
        lambda d: chart_texts(d, "Next trading day", ".ytick text", len(OPS_SYMBOLS))
    )
    assert sorted(ticks) == sorted(OPS_SYMBOLS)
    browser.save_screenshot(str(tmp_path / "overview.png"))

    # The symbol page through the sidebar, as a user gets there.
    browser.find_element(By.XPATH, '//a[contains(@href, "symbol")]').click()
    # 8 legend entries once all three charts are drawn: close, forecast, band and next
    # day; model and persistence errors; MASE and coverage.
    legend = wait.until(lambda d: texts(d, ".js-plotly-plot .legendtext", 8))
    assert "AAPL close" in legend and "80% interval" in legend
    assert (tmp_path / "overview.png").stat().st_size > 10_000
    browser.save_screenshot(str(tmp_path / "symbol.png"))

    # Nothing is filtered: any SEVERE entry (a failed request, a script error) fails.
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore[attr-defined]
    assert severe == []


def test_the_fan_chart_draws_every_horizons_interval_on_both_pages(
    horizon_dashboard_url: str, browser: object, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    wait = WebDriverWait(browser, 90)
    browser.get(horizon_dashboard_url)
    # The overview fans AAA and BBB over 1, 5 and 21 days and CCC over 1 day: 7 labels,
    # and a filled band per symbol.
    labels = wait.until(lambda d: chart_texts(d, FAN_TITLE, ".textpoint text", 7))
    assert sorted(labels) == sorted(["1d", "5d", "21d"] * 2 + ["1d"])
    assert len(chart_texts(browser, FAN_TITLE, "path.js-fill", 3) or []) == 3
    browser.save_screenshot(str(tmp_path / "overview-fan.png"))

    browser.find_element(By.XPATH, '//a[contains(@href, "symbol")]').click()
    legend = wait.until(lambda d: chart_texts(d, FAN_TITLE, ".legendtext", 1))
    assert legend == ["AAA median"]
    labels = chart_texts(browser, FAN_TITLE, ".textpoint text", 3)
    assert labels == ["1d", "5d", "21d"]
    browser.save_screenshot(str(tmp_path / "symbol-fan.png"))

    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]  # type: ignore[attr-defined]
    assert severe == []
