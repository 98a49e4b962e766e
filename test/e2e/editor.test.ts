/**
 * Browser check of the n8n editor with this package: Debian's chromium, driven by playwright-core,
 * logs in, opens each template and each of our nodes' panels, and fails on errors in those panels
 * (parameter issues, options that could not be loaded, failed option requests, dropdowns still
 * "Loading options" after 30 s) or on console errors that come from our nodes. A few dropdowns are
 * opened by hand, among them the Field Mappings rows', which read the table chosen above the rows:
 * their lists must show the expected options. Screenshots go to docs/screenshots/ when UPDATE_SCREENSHOTS=1 (the
 * README shows them), else to a temporary folder.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, type BrowserContext, type Page, type Response } from 'playwright-core';

import { CHROMIUM_ARGS, installBrowser } from '../../sandbox/n8n/install-browser';
import type { Workflow } from '../../sandbox/n8n/api';
import {
	TEMPLATE_FILES,
	TemplateName,
	loadTemplate,
	workflowForApi,
} from '../../sandbox/n8n/templates';
import { E2eEnvironment, N8N_SETUP_TIMEOUT_MS, startE2eEnvironment, waitFor } from '../support/n8n';

const PACKAGE = 'n8n-nodes-dynamics-campaign';
const UPDATE = process.env.UPDATE_SCREENSHOTS === '1';
const SCREENSHOTS = UPDATE
	? path.resolve(__dirname, '..', '..', 'docs', 'screenshots')
	: mkdtempSync(path.join(os.tmpdir(), 'n8n-screens-'));

/** The node panels shown in the README; every other panel is checked but not kept. */
const KEPT_PANELS = new Set([
	'Contacts: Dynamics 365 Trigger',
	'Contacts: Apply Field Mapping',
	'Email Events Export',
	'Opt-In/Out Sync',
]);

/**
 * Dropdowns opened by hand in a panel: the parameter and an option text it must list. The Field
 * Mappings rows read the table and Campaign resource chosen above them (outside the row).
 */
const OPENED_DROPDOWNS: Record<string, Array<{ parameter: string; option: RegExp }>> = {
	'Contacts: Dynamics 365 Trigger': [{ parameter: 'table', option: /\(contact\)/ }],
	'Contacts: Apply Field Mapping': [
		{ parameter: 'dynamicsField', option: /\(firstname\)/ },
		{ parameter: 'campaignField', option: /\(firstName\)/ },
	],
};

let env: E2eEnvironment | undefined;
let context: BrowserContext | undefined;
let profileDir: string | undefined;
const workflows = {} as Record<TemplateName, Workflow>;

beforeAll(async () => {
	const executablePath = await installBrowser((line) => process.stderr.write(`${line}\n`));
	env = await startE2eEnvironment();
	// Some data, so dropdowns that list values have something to show.
	await env.dataverse.generate('contact', 5, 7);
	for (const name of Object.keys(TEMPLATE_FILES) as TemplateName[]) {
		workflows[name] = await env.n8n.api.createWorkflow(
			workflowForApi(loadTemplate(name), env.credentials),
		);
	}
	profileDir = mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
	context = await chromium.launchPersistentContext(profileDir, {
		executablePath,
		args: CHROMIUM_ARGS,
		headless: true,
		viewport: { width: 1280, height: 760 },
	});
	mkdirSync(SCREENSHOTS, { recursive: true });
}, N8N_SETUP_TIMEOUT_MS);

afterAll(async () => {
	await context?.close();
	await env?.stop();
	if (profileDir) rmSync(profileDir, { recursive: true, force: true });
	if (!UPDATE) rmSync(SCREENSHOTS, { recursive: true, force: true });
}, 60_000);

/** Problems seen by the page: console errors, uncaught errors, failed option requests. */
interface Watch {
	consoleErrors: string[];
	failedRequests: string[];
	/** Every answered option request: the load method, its status and how many options came back. */
	optionCalls: Array<{ method: string; path: string; status: number; options: number }>;
}

function watch(page: Page): Watch {
	const seen: Watch = { consoleErrors: [], failedRequests: [], optionCalls: [] };
	page.on('console', (message) => {
		if (message.type() === 'error') seen.consoleErrors.push(message.text());
	});
	page.on('pageerror', (error) => seen.consoleErrors.push(`uncaught: ${error.message}`));
	page.on('response', (response) => {
		// Dropdowns, resource locators and mapping columns of our nodes load through these routes.
		if (!/\/rest\/dynamic-node-parameters\//.test(response.url())) return;
		if (response.status() >= 400) {
			seen.failedRequests.push(`${response.status()} ${response.url()}`);
		}
		if (/\/options$/.test(new URL(response.url()).pathname)) {
			void recordOptionCall(seen, response);
		}
	});
	return seen;
}

async function recordOptionCall(seen: Watch, response: Response): Promise<void> {
	const body = (response.request().postDataJSON() ?? {}) as {
		methodName?: string;
		path?: string;
	};
	let options = -1;
	try {
		const answer = (await response.json()) as { data?: unknown[] };
		options = Array.isArray(answer.data) ? answer.data.length : -1;
	} catch {
		// Not JSON: counted as no options.
	}
	seen.optionCalls.push({
		method: body.methodName ?? '?',
		path: body.path ?? '',
		status: response.status(),
		options,
	});
}

/** Console errors that concern our package: its name, its node types or names. */
function oursOnly(errors: string[], nodeNames: string[]): string[] {
	return errors.filter(
		(text) => text.includes(PACKAGE) || nodeNames.some((name) => text.includes(name)),
	);
}

async function logIn(page: Page): Promise<void> {
	const { n8n } = env!;
	await page.goto(`${n8n.baseUrl}/signin`);
	await page
		.locator('input[type="email"], input[name="emailOrLdapLoginId"]')
		.first()
		.fill(n8n.owner.email);
	await page.locator('input[type="password"]').first().fill(n8n.owner.password);
	await page.keyboard.press('Enter');
	await page.waitForURL((url) => !url.pathname.includes('signin'), { timeout: 30_000 });
}

/** Opens the first dropdown of `parameter` in the open panel: its list must show `option`. */
async function expectDropdownLists(
	page: Page,
	seen: Watch,
	parameter: string,
	option: RegExp,
): Promise<void> {
	const input = page
		.locator(`[data-test-id="ndv"] [data-test-id="parameter-input-${parameter}"]`)
		.first();
	await input.scrollIntoViewIfNeeded();
	const select = input.locator('.el-select__wrapper, .el-select').first();
	const open = page.locator('.el-select-dropdown:visible');
	const listed = page.locator('.el-select-dropdown__item:visible', { hasText: option });
	await waitFor(
		`the ${parameter} dropdown to list ${String(option)}`,
		async () => {
			// A click while the panel still settles may not open the list: click until it is open.
			if ((await open.count()) === 0) await select.click();
			return (await listed.count()) > 0;
		},
		{ timeoutMs: 15_000, intervalMs: 500 },
	).catch(async (error: Error) => {
		await page.screenshot({ path: path.join(SCREENSHOTS, `failed-${parameter}.png`) });
		const shown = await page.locator('.el-select-dropdown:visible').allInnerTexts();
		error.message += `\nthe open list shows: ${JSON.stringify(shown).slice(0, 500)}`;
		error.message += `\noption requests: ${JSON.stringify(seen.optionCalls)}`;
		throw error;
	});
	// A second click closes the list (Escape would close the whole panel as well).
	await select.click();
	await listed.first().waitFor({ state: 'hidden', timeout: 5_000 });
	// The select keeps the focus and would take the Escape meant for the panel.
	await page.evaluate('document.activeElement && document.activeElement.blur()');
}

function fileName(text: string): string {
	return text
		.toLowerCase()
		.replace(/[^a-z0-9]+/g, '-')
		.replace(/^-|-$/g, '');
}

describe('n8n editor with this package (chromium)', () => {
	let page: Page;
	let seen: Watch;

	beforeAll(async () => {
		page = await context!.newPage();
		seen = watch(page);
		await logIn(page);
	}, 60_000);

	it('logs into the editor', async () => {
		expect(page.url()).not.toContain('signin');
		// The workflow list shows the imported templates once the owner is logged in.
		await page.getByText(workflows.optInOut.name).first().waitFor({ timeout: 30_000 });
		await page.screenshot({ path: path.join(SCREENSHOTS, 'workflows.png') });
	});

	it.each(Object.keys(TEMPLATE_FILES) as TemplateName[])(
		'opens the %s template and every one of our node panels without errors',
		async (name) => {
			const workflow = workflows[name];
			const ours = workflow.nodes.filter((node) => node.type.startsWith(`${PACKAGE}.`));
			expect(ours.length).toBeGreaterThan(0);
			const before = seen.consoleErrors.length;

			await page.goto(`${env!.n8n.baseUrl}/workflow/${workflow.id}`);
			const canvasNodes = page.locator('[data-test-id="canvas-node"]');
			await canvasNodes.first().waitFor({ timeout: 30_000 });
			// n8n renders sticky notes as canvas elements of their own, without that test id.
			const stickies = workflow.nodes.filter((node) => node.type === 'n8n-nodes-base.stickyNote');
			const nodeCount = workflow.nodes.length - stickies.length;
			await waitFor(
				`${nodeCount} nodes on the canvas`,
				async () => (await canvasNodes.count()) === nodeCount,
				{ timeoutMs: 15_000, intervalMs: 250 },
			);
			expect(stickies.length).toBeGreaterThan(0);
			for (const sticky of stickies) {
				const note = page.locator(`.vue-flow__node[data-id="${sticky.id}"]`);
				await note.waitFor({ state: 'visible', timeout: 15_000 });
				const heading = String(sticky.parameters.content).split('\n')[0].replace(/^#+ /, '');
				expect(await note.innerText()).toContain(heading);
			}
			await page.screenshot({ path: path.join(SCREENSHOTS, `template-${fileName(name)}.png`) });

			for (const node of ours) {
				const onCanvas = page.locator(`.vue-flow__node[data-id="${node.id}"]`);
				await onCanvas.dblclick();
				const panel = page.locator('[data-test-id="ndv"]');
				await panel.waitFor({ state: 'visible', timeout: 15_000 });
				// Dropdowns and mapping columns load from the sandbox through n8n: all must finish.
				// n8n's select shows "Loading options..." as its placeholder text while the request
				// runs (a text element, not an input placeholder), so the visible text is checked.
				const loading = panel.getByText(/Loading options/i);
				await waitFor(
					`the options of ${node.name} to load (still loading: ${await loading.count()})`,
					async () => (await loading.count()) === 0,
					{ timeoutMs: 30_000, intervalMs: 250 },
				).catch(async (error: Error) => {
					await page.screenshot({
						path: path.join(SCREENSHOTS, `failed-${fileName(node.name)}.png`),
					});
					error.message += `\noption requests: ${JSON.stringify(seen.optionCalls)}`;
					throw error;
				});
				const problems = [...(await panel.locator('[data-test-id="parameter-issues"]').all())]
					.length;
				const panelText = await panel.innerText();
				expect({ node: node.name, issues: problems }).toEqual({ node: node.name, issues: 0 });
				expect(panelText).not.toMatch(/Error fetching options|Could not load/i);
				for (const { parameter, option } of OPENED_DROPDOWNS[node.name] ?? []) {
					await expectDropdownLists(page, seen, parameter, option);
				}
				if (KEPT_PANELS.has(node.name)) {
					await page.screenshot({
						path: path.join(SCREENSHOTS, `node-${fileName(node.name)}.png`),
					});
				}
				await page.keyboard.press('Escape');
				await panel.waitFor({ state: 'hidden', timeout: 10_000 });
			}
			expect(seen.failedRequests).toEqual([]);
			const names = ours.map((node) => node.name);
			expect(oursOnly(seen.consoleErrors.slice(before), names)).toEqual([]);
		},
		120_000,
	);
});
