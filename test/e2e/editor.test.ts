/**
 * Browser check of the n8n editor with this package: Debian's chromium, driven by playwright-core,
 * logs in, opens each template and each of our nodes' panels, and fails on errors in those panels
 * (parameter issues, options that could not be loaded, failed option requests, dropdowns still
 * loading after 30 s) or on console errors that come from our nodes. It checks what a builder sees:
 * an icon of its own and a subtitle built from the parameters for each node on the canvas, labels
 * that fit the panel, the two credentials named apart, the detected Dynamics key shown read-only,
 * tables and Campaign tables in searchable, sorted resource locator lists. A few dropdowns are
 * opened by hand, among them the Field Mappings rows', which read the table chosen above the rows.
 *
 * A screenshot is saved only once nothing in the page still loads (see `settledScreenshot`).
 * Screenshots go to docs/screenshots/ when UPDATE_SCREENSHOTS=1 (the README shows them), else to
 * a temporary folder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
	chromium,
	type BrowserContext,
	type Locator,
	type Page,
	type Request,
	type Response,
} from 'playwright-core';

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
	'Contacts: Record Filter',
	'Contacts: Apply Field Mapping',
	'Email Events Export',
	'Opt-In/Out Sync',
]);

/** The subtitle under each of our nodes on the canvas, built from its parameters. */
const SUBTITLES: Record<TemplateName, Record<string, string>> = {
	dynamicsToCampaign: {
		'Contacts: Dynamics 365 Trigger': 'Table: contact',
		'Contacts: Record Filter': 'No Filters',
		'Contacts: Field Replacement': '2 Replacements',
		'Contacts: Apply Field Mapping': 'contact → profile',
		'Contacts: Campaign Upsert': 'Create, Update or Delete',
	},
	campaignToDynamics: { 'Email Events Export': 'Campaign → Dynamics 365' },
	optInOut: { 'Opt-In/Out Sync': 'Direction: Disabled' },
};

/**
 * Dropdowns opened by hand in a panel: the parameter and an option text it must list. The Field
 * Mappings rows read the table and Campaign resource chosen above them (outside the row).
 */
const OPENED_DROPDOWNS: Record<string, Array<{ parameter: string; option: RegExp }>> = {
	'Contacts: Apply Field Mapping': [
		{ parameter: 'dynamicsField', option: /\(firstname\)/ },
		{ parameter: 'campaignField', option: /\(firstName\)/ },
	],
};

/**
 * Resource locator lists opened by hand: the parameter, an entry the full list shows, and a
 * search with the entry it must find. `screenshot` keeps the searched list for the README.
 */
const OPENED_LISTS: Record<
	string,
	Array<{
		parameter: string;
		byName?: string;
		lists: string;
		search: string;
		finds: string;
		screenshot?: string;
	}>
> = {
	'Contacts: Dynamics 365 Trigger': [
		{
			parameter: 'table',
			lists: 'Contact',
			search: 'loyal',
			finds: 'Loyalty Card (new_loyaltycard)',
		},
	],
	'Contacts: Apply Field Mapping': [
		{
			parameter: 'table',
			lists: 'Contact',
			search: 'email',
			finds: 'Adobe Campaign Email Send (adobe_emailsend)',
			screenshot: 'node-contacts-apply-field-mapping-table-list.png',
		},
		{
			parameter: 'campaignResource',
			lists: 'Profile',
			search: 'cusloyal',
			finds: 'Loyalty cards (cusLoyaltyCard)',
		},
	],
	'Email Events Export': [
		{
			parameter: 'clickTable',
			// The template names the activity tables (the node may create them): switch to the list.
			byName: 'adobe_emailclick',
			lists: 'Contact',
			search: 'click',
			finds: 'Adobe Campaign Email URL Click (adobe_emailclick)',
		},
	],
};

let env: E2eEnvironment | undefined;
let context: BrowserContext | undefined;
let profileDir: string | undefined;
const workflows = {} as Record<TemplateName, Workflow>;
/** The icon each of our node types shows on the canvas, collected over the templates. */
const icons = new Map<string, string>();

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

/** Problems seen by the page, and the option requests of dropdowns and lists still in flight. */
interface Watch {
	consoleErrors: string[];
	failedRequests: string[];
	/** Every answered option request: the load method, its status and how many options came back. */
	optionCalls: Array<{ method: string; path: string; status: number; options: number }>;
	inFlight: number;
}

/** Dropdowns, resource locators and mapping columns of our nodes load through these routes. */
function isOptionRequest(url: string): boolean {
	return /\/rest\/dynamic-node-parameters\//.test(url);
}

function watch(page: Page): Watch {
	const seen: Watch = { consoleErrors: [], failedRequests: [], optionCalls: [], inFlight: 0 };
	page.on('console', (message) => {
		if (message.type() === 'error') seen.consoleErrors.push(message.text());
	});
	page.on('pageerror', (error) => seen.consoleErrors.push(`uncaught: ${error.message}`));
	page.on('request', (request) => {
		if (isOptionRequest(request.url())) seen.inFlight++;
	});
	const done = (request: Request) => {
		if (isOptionRequest(request.url())) seen.inFlight--;
	};
	page.on('requestfinished', done);
	page.on('requestfailed', done);
	page.on('response', (response) => {
		if (!isOptionRequest(response.url())) return;
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

/**
 * What still loads in the page: option requests in flight, dropdowns showing "Loading options"
 * (n8n's select shows it as its placeholder text), skeleton rows of resource locator lists.
 */
async function stillLoading(page: Page, seen: Watch): Promise<string[]> {
	const loading: string[] = [];
	if (seen.inFlight > 0) loading.push(`${seen.inFlight} option request(s) in flight`);
	const placeholders = await page.getByText(/Loading options/i).count();
	if (placeholders > 0) loading.push(`${placeholders} dropdown(s) "Loading options"`);
	const skeletons = await page.locator('.el-skeleton:visible').count();
	if (skeletons > 0) loading.push(`${skeletons} list row(s) still loading`);
	return loading;
}

/**
 * Waits until nothing has loaded for a whole second (a dropdown mounted a moment later starts
 * its request within that second), up to 30 s.
 */
async function settle(page: Page, seen: Watch, what: string): Promise<void> {
	let quietSince = Date.now();
	let last: string[] = [];
	await waitFor(
		`${what} to finish loading`,
		async () => {
			last = await stillLoading(page, seen);
			if (last.length) quietSince = Date.now();
			return Date.now() - quietSince >= 1000;
		},
		{ timeoutMs: 30_000, intervalMs: 200 },
	).catch(async (error: Error) => {
		await page.screenshot({ path: path.join(SCREENSHOTS, `failed-${fileName(what)}.png`) });
		error.message += `\nstill loading: ${last.join(', ')}`;
		error.message += `\noption requests: ${JSON.stringify(seen.optionCalls)}`;
		throw error;
	});
}

/**
 * A screenshot that cannot show a half-loaded page: taken once the page settled, and written
 * only if nothing started loading while it was taken.
 */
async function settledScreenshot(page: Page, seen: Watch, file: string): Promise<void> {
	await settle(page, seen, file);
	const image = await page.screenshot();
	const loading = await stillLoading(page, seen);
	if (loading.length) {
		throw new Error(`${file} was taken while something loaded: ${loading.join(', ')}`);
	}
	writeFileSync(path.join(SCREENSHOTS, file), image);
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

/** Console errors that concern our package: its name, its node types or names. */
function oursOnly(errors: string[], nodeNames: string[]): string[] {
	return errors.filter(
		(text) => text.includes(PACKAGE) || nodeNames.some((name) => text.includes(name)),
	);
}

function parameterInput(page: Page, parameter: string): Locator {
	return page.locator(`[data-test-id="ndv"] [data-test-id="parameter-input-${parameter}"]`).first();
}

/** Opens the first dropdown of `parameter` in the open panel: its list must show `option`. */
async function expectDropdownLists(
	page: Page,
	seen: Watch,
	parameter: string,
	option: RegExp,
): Promise<void> {
	const input = parameterInput(page, parameter);
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

/**
 * Opens the resource locator list of `parameter` ("From list", its default mode, or after
 * switching from "By Name" when the template names the entry `byName`): it lists
 * `lists`, in alphabetical order after the current choice (which n8n shows first), and a search
 * finds `finds` and narrows the list to matching entries. Returns with the searched list open.
 */
async function expectLocatorLists(
	page: Page,
	seen: Watch,
	list: { parameter: string; byName?: string; lists: string; search: string; finds: string },
): Promise<void> {
	const input = parameterInput(page, list.parameter);
	await input.scrollIntoViewIfNeeded();
	const mode = input.locator('[data-test-id="rlc-mode-selector"] input');
	if (list.byName) {
		expect(await mode.inputValue()).toBe('By Name');
		expect(await input.locator('[data-test-id="rlc-input"]').inputValue()).toBe(list.byName);
		await mode.click();
		await page.locator('.el-select-dropdown__item:visible', { hasText: /^From list$/ }).click();
	}
	expect(await mode.inputValue()).toBe('From list');
	await input.locator('[data-test-id="rlc-input"]').click();
	const entries = async () =>
		await page.locator('[data-test-id="rlc-item"]:visible').evaluateAll((items) =>
			items.map((item) => ({
				name: (item.textContent ?? '').trim(),
				current: /selected/.test(item.className),
			})),
		);
	await waitFor(
		`the ${list.parameter} list to show ${list.lists}`,
		async () => (await entries()).some((entry) => entry.name === list.lists),
		{ timeoutMs: 30_000, intervalMs: 250 },
	);
	await settle(page, seen, `the ${list.parameter} list`);
	const others = (await entries()).filter((entry) => !entry.current).map((entry) => entry.name);
	expect(others.length).toBeGreaterThan(1);
	expect(others).toEqual([...others].sort((a, b) => a.localeCompare(b)));
	await page.locator('[data-test-id="rlc-search"]:visible').fill(list.search);
	await waitFor(
		`the ${list.parameter} list to find ${list.finds} by "${list.search}", and only matches`,
		async () => {
			const found = await entries();
			return (
				found.some((entry) => entry.name === list.finds) &&
				found.every(
					(entry) => entry.current || entry.name.toLowerCase().includes(list.search.toLowerCase()),
				)
			);
		},
		{ timeoutMs: 30_000, intervalMs: 250 },
	);
}

/** Labels of the open panel that n8n cuts off with an ellipsis at its default width. */
async function cutOffLabels(page: Page): Promise<string[]> {
	// Hovering a parameter shows its Fixed/Expression switch beside the label: measure without.
	await page.mouse.move(1, 1);
	return await page
		.locator('[data-test-id="ndv"] label span')
		.evaluateAll((spans) =>
			spans
				.filter(
					(span) =>
						span.ownerDocument.defaultView!.getComputedStyle(span).textOverflow === 'ellipsis' &&
						span.scrollWidth > span.clientWidth + 1,
				)
				.map((span) => (span.textContent ?? '').trim()),
		);
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
		await settledScreenshot(page, seen, 'workflows.png');
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
			// Each node on the canvas: its icon, and under its name the subtitle of its parameters.
			const subtitles: Record<string, string> = {};
			for (const node of ours) {
				const onCanvas = page.locator(`.vue-flow__node[data-id="${node.id}"]`);
				const icon = await onCanvas.locator('img').first().getAttribute('src');
				expect(icon).toMatch(/\.svg$/);
				const type = node.type.slice(PACKAGE.length + 1);
				if (icons.has(type)) expect(icons.get(type)).toBe(icon);
				icons.set(type, icon!);
				// The subtitle's element has a class named after it (n8n's CSS modules hash the rest).
				subtitles[node.name] = (
					await onCanvas.locator('[class*="subtitle"]').first().innerText()
				).trim();
			}
			expect(subtitles).toEqual(SUBTITLES[name]);
			await settledScreenshot(page, seen, `template-${fileName(name)}.png`);

			for (const node of ours) {
				const onCanvas = page.locator(`.vue-flow__node[data-id="${node.id}"]`);
				await onCanvas.dblclick();
				const panel = page.locator('[data-test-id="ndv"]');
				await panel.waitFor({ state: 'visible', timeout: 15_000 });
				// Dropdowns and mapping columns load from the sandbox through n8n: all must finish.
				await settle(page, seen, `the panel of ${node.name}`);
				const problems = [...(await panel.locator('[data-test-id="parameter-issues"]').all())]
					.length;
				expect({ node: node.name, issues: problems }).toEqual({ node: node.name, issues: 0 });
				const panelText = await panel.innerText();
				expect(panelText).not.toMatch(/Error fetching options|Could not load/i);
				expect({ node: node.name, cutOff: await cutOffLabels(page) }).toEqual({
					node: node.name,
					cutOff: [],
				});
				// Each credential field says which service it is for.
				const credentials = Object.keys(node.credentials ?? {});
				expect(panelText).not.toMatch(/^Credential$/m);
				if (credentials.includes('dynamics365Api')) {
					expect(panelText).toMatch(/^Dynamics 365 Credential$/m);
				}
				if (credentials.includes('adobeCampaignStandardApi')) {
					expect(panelText).toMatch(/^Campaign Credential$/m);
				}
				if (node.type.endsWith('.applyFieldMapping')) {
					// The detected key, read-only, with its value; what is fixed after a run says so.
					const key = parameterInput(page, 'dynamicsKey').locator('input').first();
					expect(await key.inputValue()).toBe('contactid');
					expect(await key.isDisabled()).toBe(true);
					expect(panelText).toContain('The primary key of the table, detected from its definition');
					expect(panelText.match(/Fixed once the mapping has run/g)).toHaveLength(3);
				}
				if (node.type.endsWith('.recordFilter')) {
					expect(panelText).toContain('Must Match');
					const combinator = parameterInput(page, 'combinator').locator('input').first();
					expect(await combinator.inputValue()).toBe('All Filters');
				}
				if (KEPT_PANELS.has(node.name)) {
					await settledScreenshot(page, seen, `node-${fileName(node.name)}.png`);
				}
				for (const { parameter, option } of OPENED_DROPDOWNS[node.name] ?? []) {
					await expectDropdownLists(page, seen, parameter, option);
				}
				for (const list of OPENED_LISTS[node.name] ?? []) {
					await expectLocatorLists(page, seen, list);
					if (list.screenshot) await settledScreenshot(page, seen, list.screenshot);
					// Choosing the current entry again closes the list (Escape would close the panel);
					// a list switched from "By Name" has none: choose the entry it found, the same table.
					await page
						.locator(
							list.byName
								? '[data-test-id="rlc-item"]:visible'
								: '[data-test-id="rlc-item"][class*="selected"]:visible',
							list.byName ? { hasText: list.finds } : {},
						)
						.first()
						.click();
					await page
						.locator('[data-test-id="rlc-search"]:visible')
						.waitFor({ state: 'hidden', timeout: 10_000 });
				}
				await page.keyboard.press('Escape');
				await panel.waitFor({ state: 'hidden', timeout: 10_000 });
			}
			expect(seen.failedRequests).toEqual([]);
			const names = ours.map((node) => node.name);
			expect(oursOnly(seen.consoleErrors.slice(before), names)).toEqual([]);
		},
		180_000,
	);

	it('shows each of our seven nodes with an icon of its own', () => {
		expect(icons.size).toBe(7);
		expect(new Set(icons.values()).size).toBe(7);
	});
});
