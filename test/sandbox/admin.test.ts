/**
 * The admin API both sandboxes share: the same routes and verbs for the same settings (GET reads,
 * PUT sets, a reset restores), answered from the state in force, and the loopback rule.
 */
import { startCampaignSandbox, type CampaignSandbox } from '../../sandbox/campaign';
import { isLoopback } from '../../sandbox/common/server';
import { startDataverseSandbox, type DataverseSandbox } from '../../sandbox/dataverse';

let dataverse: DataverseSandbox;
let campaign: CampaignSandbox;

beforeAll(async () => {
	[dataverse, campaign] = await Promise.all([
		startDataverseSandbox({ port: 0, demoRecords: 0 }),
		startCampaignSandbox({ port: 0 }),
	]);
});

afterAll(async () => {
	await Promise.all([dataverse?.close(), campaign?.close()]);
});

async function call(
	base: string,
	method: string,
	path: string,
	body?: unknown,
): Promise<{ status: number; body: unknown }> {
	const response = await fetch(`${base}/_sandbox/${path}`, {
		method,
		headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await response.text();
	return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

describe.each([
	['Dataverse', () => dataverse.url],
	['Campaign', () => campaign.url],
])('%s sandbox admin API', (_name, base) => {
	afterEach(async () => {
		await call(base(), 'POST', 'reset', {});
	});

	it('reads back the latency it was given, and a reset restores none', async () => {
		expect(await call(base(), 'GET', 'latency')).toEqual({ status: 200, body: { ms: 0 } });
		expect((await call(base(), 'PUT', 'latency', { ms: 40 })).status).toBe(204);
		expect(await call(base(), 'GET', 'latency')).toEqual({ status: 200, body: { ms: 40 } });
		expect((await call(base(), 'POST', 'reset', {})).status).toBe(204);
		expect((await call(base(), 'GET', 'latency')).body).toEqual({ ms: 0 });
	});

	it('sets faults with PUT and reads them with GET', async () => {
		expect((await call(base(), 'PUT', 'faults', { rate: 0.5, kinds: ['503'] })).status).toBe(204);
		expect((await call(base(), 'GET', 'faults')).body).toMatchObject({
			rate: 0.5,
			kinds: ['503'],
		});
	});

	it('refuses a setting changed with POST (one verb for one thing)', async () => {
		for (const path of ['latency', 'faults']) {
			expect((await call(base(), 'POST', path, {})).status).toBe(405);
		}
	});

	it('reads and clears its request counters', async () => {
		expect(await call(base(), 'GET', 'counters')).toEqual({ status: 200, body: { counters: {} } });
		expect((await call(base(), 'DELETE', 'counters')).status).toBe(204);
	});
});

describe('loopback rule of the admin API', () => {
	it('knows every loopback address and nothing else', () => {
		for (const address of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1']) {
			expect(isLoopback(address)).toBe(true);
		}
		for (const address of [
			'10.0.0.1',
			'192.168.1.127',
			'::ffff:10.0.0.1',
			'fe80::1',
			'',
			undefined,
		]) {
			expect(isLoopback(address)).toBe(false);
		}
	});
});
