import pytest, re
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

def dump(page, label):
    page.evaluate("() => typeof window.axe === 'object'") or page.add_script_tag(url="/__browser-tests__/axe.min.js")
    r = page.evaluate("() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa']}})")
    print(f"\n## {label}: passes={len(r['passes'])} violations={len(r['violations'])} incomplete={[ (i['id'], len(i['nodes']), [n['target'] for n in i['nodes'][:3]]) for i in r['incomplete']]}")

def test_dump(page, demo, login_as):
    page.goto("/staff/login/"); dump(page, "login")
    login_as("kosodate"); dump(page, "inbox")
    page.locator("#inbox-results tbody a").first.click(); page.wait_for_load_state("load"); dump(page, "detail")
    page.get_by_role("link", name=re.compile("補正を依頼")).first.click(); page.wait_for_load_state("load"); dump(page, "correction")
