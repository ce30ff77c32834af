"""The work-order loop in a real browser: a resident reports with a photo, the community dispatches it from
the desk in one click, the unit handles and resolves it, the resident rates it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from steps import assert_fits_a_phone, sign_in, sign_out, url_of

pytestmark = pytest.mark.browser

# the smallest valid PNG (1×1)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)

# members of each handling unit of the test world (linli/cases/testing.py)
HANDLER_OF_UNIT = {"新华里社区居委会": "grid", "新华物业公司": "property", "劝业场街道城管科": "handler"}


def test_resident_report_is_dispatched_handled_resolved_and_rated(page, shoot):
    # 1. the resident reports a problem at home, with a photo, on a phone
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "resident")
    page.goto(url_of("cases:report"))
    page.fill("#f-description", "楼下垃圾桶满了好几天没人清运，味道很大，老人出门都绕着走")
    page.set_input_files(
        "input.photo-input.album", files=[{"name": "rubbish.png", "mimeType": "image/png", "buffer": PNG}]
    )
    shoot(page, "case-report")
    page.click("button.send-button")
    expect(page).to_have_url(re.compile(r"/cases/report/done/\d+/$"))
    pk = int(re.search(r"/done/(\d+)/", page.url).group(1))
    shoot(page, "case-report-done")
    sign_out(page)

    # 2. the community worker dispatches it from the desk with the proposed unit, in one click
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, "community")
    page.goto(url_of("cases:workbench"))
    row = page.locator(f"#case-{pk}")
    expect(row).to_be_visible()
    shoot(page, "case-desk")
    row.locator("form button.primary").click()
    expect(page.locator(".messages")).to_be_visible()
    page.goto(f"/cases/{pk}/")
    text = page.locator("main").inner_text()
    handler = next((user for name, user in HANDLER_OF_UNIT.items() if name in text), None)
    assert handler, "the case page names none of the units the test world routes to"
    sign_out(page)

    # 3. the unit starts and resolves it from its task list and the case page
    sign_in(page, handler)
    page.goto(url_of("cases:tasks"))
    page.locator(f"a[href='/cases/{pk}/']").first.click()
    page.click("#act-start summary")
    page.locator("#act-start button.primary").click()
    expect(page.locator("#act-resolve")).to_be_visible()  # resolving is offered once handling started
    page.click("#act-resolve summary")
    page.locator("#act-resolve textarea[name=note]").fill("已联系保洁清运，垃圾桶已清空消毒")
    page.locator("#act-resolve button.primary").click()
    expect(page.locator("#act-resolve")).to_have_count(0)
    shoot(page, "case-resolved")
    sign_out(page)

    # 4. the resident sees it resolved and rates it
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "resident")
    page.goto(f"/cases/mine/{pk}/")
    expect(page.locator("#rate")).to_be_visible()
    page.click("button.rate-satisfied")
    expect(page.locator("#rate")).to_have_count(0)
    shoot(page, "case-rated")
    assert_fits_a_phone(page)
    sign_out(page)
