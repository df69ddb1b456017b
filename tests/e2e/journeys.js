// End-to-end journeys in headless Chromium (the system's chromium, driven by
// playwright-core), against a running metrocal with the demo data set:
//   a scheduler plans the coming weeks and accepts the plan;
//   a technician saves an uncertainty budget and records a calibration with it;
//   the reviewer and the approver sign with their passwords;
//   the enterprise user downloads the certificate's PDF;
//   a member of the public verifies it through the QR link.
// Every page is screenshotted at desktop and phone widths into $E2E_OUT.
// Usage: node journeys.js BASE_URL WORK_ORDER_ID STANDARD_ID
const { chromium } = require('playwright-core');
const fs = require('fs');
const path = require('path');

const [base, workOrder, standard] = process.argv.slice(2);
const out = process.env.E2E_OUT || 'target/e2e';
const PASSWORD = 'correct horse battery staple';
fs.mkdirSync(out, { recursive: true });

function check(cond, message) {
  if (!cond) throw new Error(message);
}

let shot = 0;
async function snap(page, name) {
  shot += 1;
  const file = `${String(shot).padStart(2, '0')}-${name}`;
  for (const [suffix, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: path.join(out, `${file}-${suffix}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

async function as(browser, email, journey) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => { throw e; });
  await page.goto(`${base}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('form button[type=submit]')]);
  check(!page.url().includes('/login'), `${email} could not log in: ${page.url()}`);
  try {
    return await journey(page);
  } finally {
    await context.close();
  }
}

async function status(page, url) {
  const res = await page.goto(url);
  check(res.status() < 400, `${url}: ${res.status()}`);
  return res;
}

(async () => {
  // No background networking: the machine's closed network refuses Chromium's own
  // connections, and the journeys need only the server on loopback.
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  try {
    // 1. The institute's scheduler plans the coming four weeks and accepts the plan.
    await as(browser, 'scheduler@e2e.example', async (page) => {
      await status(page, `${base}/schedule/plan?weeks=4`);
      await snap(page, 'plan');
      const accept = page.locator('form[action="/schedule/plan/accept"] button');
      if (await accept.count()) {
        await Promise.all([page.waitForNavigation(), accept.click()]);
        await snap(page, 'plan-accepted');
      }
      await status(page, `${base}/work-orders`);
      await snap(page, 'work-orders');
      await status(page, `${base}/schedule/settings`);
      await snap(page, 'scheduling-rules');
    });

    // 2. The centre's technician saves a budget for the standard and records with it.
    const record = await as(browser, 'technician@e2e.example', async (page) => {
      await status(page, `${base}/standards/${standard}/budgets/new`);
      const fields = {
        title: 'Dial indicator calibrator, comparison at 10 mm', measurands: 'e mm', model: 'e = r - s',
        'in.0.name': 'r', 'in.0.value': '10.0043', 'in.0.unit': 'mm', 'in.0.u': '0.0004',
        'in.1.name': 's', 'in.1.value': '10', 'in.1.unit': 'mm', 'in.1.u': '0.0003',
      };
      for (const [name, value] of Object.entries(fields)) {
        await page.fill(`[name="${name}"]`, value);
      }
      await snap(page, 'budget-form');
      await Promise.all([page.waitForNavigation(), page.click('button[name=action][value=save]')]);
      check(/\/budgets\/\d+$/.test(page.url()), `the budget was not saved: ${page.url()}`);
      await snap(page, 'budget');
      const budget = page.url().split('/').pop();

      await status(page, `${base}/work-orders/${workOrder}/record`);
      const form = {
        method: 'JJG 34-2022', received_on: '2026-11-26', calibrated_on: '2026-11-27',
        temperature: '20.1 °C', humidity: '50 %',
        p0_nominal: '10 mm', p0_reference: '10.0000 mm', p0_readings: '10.0043 10.0044 10.0042',
        p0_mpe: '±0.0050 mm',
      };
      for (const [name, value] of Object.entries(form)) {
        await page.fill(`[name="${name}"]`, value);
      }
      await page.selectOption('[name=kind]', 'calibration');
      await page.check(`input[name=standards][value="${standard}"]`);
      await page.selectOption('[name=p0_budget]', budget);
      await snap(page, 'record-form');
      await Promise.all([page.waitForNavigation(), page.click('form.record > button[type=submit]')]);
      check(/\/records\/\d+$/.test(page.url()), `the record was not saved: ${page.url()}`);
      check((await page.content()).includes(`budget:${budget}`), 'the point does not take its U from the budget');
      await page.fill('input[name=password]', PASSWORD);
      await Promise.all([page.waitForNavigation(), page.click('form[action$="/sign"] button')]);
      check((await page.content()).includes('误判合格概率'), 'the point states its specific risk');
      await snap(page, 'record-signed');
      return page.url();
    });

    // 3. The reviewer, then the approver: the approval issues the certificate.
    await as(browser, 'reviewer@e2e.example', async (page) => {
      await status(page, record);
      await page.fill('input[name=password]', PASSWORD);
      await Promise.all([page.waitForNavigation(), page.click('form[action$="/sign"] button')]);
      await snap(page, 'record-reviewed');
    });
    const number = await as(browser, 'approver@e2e.example', async (page) => {
      await status(page, record);
      await page.fill('input[name=password]', PASSWORD);
      await Promise.all([page.waitForNavigation(), page.click('form[action$="/sign"] button')]);
      check(page.url().includes('/certificates/'), `approval did not issue: ${page.url()}`);
      await snap(page, 'certificate-issued');
      return decodeURIComponent(page.url().split('/').pop());
    });

    // 4. Enterprise A downloads the PDF from its portal.
    const verify = await as(browser, 'enterprise@e2e.example', async (page) => {
      await status(page, `${base}/certificates?q=${encodeURIComponent(number)}`);
      await snap(page, 'portal');
      await status(page, `${base}/certificates/${number}`);
      await snap(page, 'portal-certificate');
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.click(`a[href="/certificates/${number}/pdf"]`),
      ]);
      const file = path.join(out, download.suggestedFilename());
      await download.saveAs(file);
      check(fs.readFileSync(file).subarray(0, 5).toString() === '%PDF-', 'the download is not a PDF');
      return page.locator('a[href^="/verify/"]').first().getAttribute('href');
    });

    // 5. A member of the public follows the QR link: no login, the certificate valid.
    const context = await browser.newContext();
    const page = await context.newPage();
    await status(page, `${base}${verify}`);
    const text = await page.textContent('body');
    check(text.includes(number), 'the verification page does not name the certificate');
    await snap(page, 'verify');
    await context.close();
    console.log(`e2e: ${number} planned, recorded, signed, downloaded and verified; ${shot} pages screenshotted`);
  } finally {
    await browser.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
