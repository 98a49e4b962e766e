import type http from 'node:http';

import { useNodeFixture } from './fixture';
import {
	CONTACT_FIELDS,
	campaignWrites,
	results,
	runUntilQuiet,
	summaryOf,
	syncWorkflow,
	type ChainSettings,
} from './sync-chain';

describe('Campaign Upsert', () => {
	const fx = useNodeFixture({}, {}, async (f) => {
		await f.dataverse.reset({ demoRecords: 0 });
		await f.campaign.reset({ profiles: 0 });
		await f.campaign.setLatency(0);
	});

	function setup(settings: ChainSettings = {}) {
		const { json, names } = syncWorkflow(settings);
		return { wf: fx.workflow(json), names };
	}

	async function profiles() {
		const dump = await fx.campaign.dump('profile');
		return new Map(dump.records.map((p) => [String(p.externalId), p]));
	}

	it('creates, updates only the fields whose Apply updates is on during incremental loads, and deletes', async () => {
		const [id] = await fx.dataverse.seed('contact', [
			{ firstname: 'Ana', lastname: 'Lima', emailaddress1: 'ana@example.com' },
		]);
		const { wf, names } = setup({
			fields: [
				{ dynamicsField: 'firstname', campaignField: 'firstName', applyUpdates: true },
				{ dynamicsField: 'lastname', campaignField: 'lastName', applyUpdates: false },
			],
		});
		const [initial] = await runUntilQuiet(wf, names.trigger);
		expect(results(initial, names.upsert)).toMatchObject([{ id, outcome: 'created' }]);
		expect((await profiles()).get(id)).toMatchObject({ firstName: 'Ana', lastName: 'Lima' });

		await fx.dataverse.editRecord('contact', id, { firstname: 'Anna', lastname: 'Lyma' });
		const [update] = await runUntilQuiet(wf, names.trigger);
		expect(results(update, names.upsert)).toMatchObject([
			{ id, outcome: 'updated', fields: ['firstName'] },
		]);
		expect((await profiles()).get(id)).toMatchObject({ firstName: 'Anna', lastName: 'Lima' });

		await fx.dataverse.deleteRecord('contact', id);
		const [removal] = await runUntilQuiet(wf, names.trigger);
		expect(results(removal, names.upsert)).toMatchObject([{ id, outcome: 'deleted' }]);
		expect((await profiles()).has(id)).toBe(false);
	});

	describe('a key duplicated in Campaign', () => {
		async function plantDuplicate() {
			const ids = await fx.dataverse.seed('contact', [
				{ firstname: 'Good', lastname: 'One' },
				{ firstname: 'Dup', lastname: 'Licated' },
				{ firstname: 'Good', lastname: 'Two' },
			]);
			const planted = await fx.campaign.insert(
				'profile',
				[
					{ externalId: ids[1], firstName: 'First copy' },
					{ externalId: ids[1], firstName: 'Second copy' },
				],
				{ bypassUnique: true },
			);
			return { ids, pKeys: planted.map((p) => p.PKey) };
		}

		it('fails that record on the error output with the key and both PKeys, writing the others', async () => {
			const { ids, pKeys } = await plantDuplicate();
			const { wf, names } = setup({ errorOutput: true });
			const run = (await wf.pollAndRun(names.trigger))!;
			expect(run.error).toBeUndefined();

			const failed = results(run, names.upsert, 1);
			expect(failed).toHaveLength(1);
			expect(failed[0].details).toMatchObject({
				id: ids[1],
				outcome: 'failed',
				errorCode: 'DUPLICATE_KEY',
			});
			const message = String(failed[0].error);
			expect(message).toContain('externalId');
			expect(message).toContain(ids[1]);
			for (const pKey of pKeys) expect(message).toContain(pKey);

			expect(results(run, names.upsert).map((r) => [r.id, r.outcome])).toEqual([
				[ids[0], 'created'],
				[ids[2], 'created'],
			]);
			expect(summaryOf(run, names.upsert)).toMatchObject({ created: 2, failed: 1 });
			// Neither copy was touched: nothing is picked silently.
			const copies = (await fx.campaign.dump('profile')).records.filter(
				(p) => p.externalId === ids[1],
			);
			expect(copies.map((p) => p.firstName).sort()).toEqual(['First copy', 'Second copy']);
		});

		it('fails the execution after writing the good records when there is no error output', async () => {
			const { ids, pKeys } = await plantDuplicate();
			const { wf, names } = setup({ errorOutput: false });
			const run = (await wf.pollAndRun(names.trigger))!;
			expect(run.status).toBe('error');
			expect(run.error?.message).toContain('1 of 3 record(s) could not be written');
			expect(run.error?.message).toContain(pKeys[0]);
			const written = await profiles();
			expect(written.get(ids[0])).toMatchObject({ firstName: 'Good', lastName: 'One' });
			expect(written.get(ids[2])).toMatchObject({ firstName: 'Good', lastName: 'Two' });
		});
	});

	it("reports a record Campaign refuses with the record id, Campaign's code and message; the batch goes on", async () => {
		const ids = await fx.dataverse.seed('contact', [
			{ firstname: 'Ok', familystatuscode: null },
			{ firstname: 'Refused', familystatuscode: 2 },
			{ firstname: 'Ok too', familystatuscode: null },
		]);
		// "Married" is not one of the values of Campaign's gender enumeration.
		const { wf, names } = setup({
			errorOutput: true,
			fields: [
				{ dynamicsField: 'firstname', campaignField: 'firstName' },
				{ dynamicsField: 'familystatuscode', campaignField: 'gender' },
			],
		});
		const run = (await wf.pollAndRun(names.trigger))!;
		const [failed] = results(run, names.upsert, 1);
		expect(failed.details).toMatchObject({
			id: ids[1],
			outcome: 'failed',
			errorCode: 'RST-360011',
		});
		expect(String(failed.error)).toContain(`record ${ids[1]}`);
		expect(String(failed.error)).toMatch(/'nms:recipient:gender' enumeration/);
		expect(String(failed.error)).toMatch(/Campaign answered 500/);
		expect(results(run, names.upsert).filter((r) => r.outcome === 'created')).toHaveLength(2);
		expect((await profiles()).size).toBe(2);
	});

	it('sends an update Campaign refuses with a 500 naming the cause once, not again', async () => {
		const [id] = await fx.dataverse.seed('contact', [{ firstname: 'Ok', familystatuscode: null }]);
		const { wf, names } = setup({
			errorOutput: true,
			fields: [
				{ dynamicsField: 'firstname', campaignField: 'firstName' },
				{ dynamicsField: 'familystatuscode', campaignField: 'gender' },
			],
		});
		await runUntilQuiet(wf, names.trigger);
		await fx.dataverse.editRecord('contact', id, { familystatuscode: 2 });
		await fx.campaign.resetCounters();
		const run = (await wf.pollAndRun(names.trigger))!;
		const [failed] = results(run, names.upsert, 1);
		expect(failed.details).toMatchObject({ id, outcome: 'failed', errorCode: 'RST-360011' });
		// A PATCH may be replayed, but a deterministic 500 costs an engine call and hides the cause.
		expect((await fx.campaign.counters())['PATCH campaign:record']).toBe(1);
	});

	it('reads each credential a few times a run, not once a request (in n8n each read loads and decrypts it)', async () => {
		const { wf, names } = setup();
		const readsOfALoad = async (contacts: number, seed: number) => {
			await fx.dataverse.generate('contact', contacts, seed);
			fx.credentials.reads.clear();
			const runs = await runUntilQuiet(wf, names.trigger);
			expect(runs).toHaveLength(1);
			expect(summaryOf(runs[0], names.upsert)).toMatchObject({ created: contacts, failed: 0 });
			return Object.fromEntries(fx.credentials.reads);
		};
		const few = await readsOfALoad(3, 5);
		const many = await readsOfALoad(40, 6);
		// A lookup and a create per record: 80 Campaign requests where there were 6.
		expect(many).toEqual(few);
		expect(few.adobeCampaignStandardApi).toBeLessThanOrEqual(3);
	});

	it('writes at most Concurrency records at the same time', async () => {
		await fx.dataverse.generate('contact', 16, 4);
		// Watch the requests in flight at the Campaign sandbox's HTTP server itself.
		const server = (fx.sandboxes.campaign.server as unknown as { server: http.Server }).server;
		let inFlight = 0;
		let peak = 0;
		const watch = (req: http.IncomingMessage, res: http.ServerResponse) => {
			if (req.url?.includes('/_sandbox/')) return;
			inFlight++;
			peak = Math.max(peak, inFlight);
			res.on('close', () => inFlight--);
		};
		server.on('request', watch);
		try {
			await fx.campaign.setLatency(25);
			const { wf, names } = setup({ concurrency: 3 });
			const [run] = await runUntilQuiet(wf, names.trigger);
			expect(summaryOf(run, names.upsert)).toMatchObject({ created: 16, failed: 0 });
		} finally {
			server.off('request', watch);
		}
		expect(peak).toBeLessThanOrEqual(3);
		expect(peak).toBeGreaterThan(1);
	});

	it('writes every record when Campaign throttles a high Concurrency, and counts the throttled answers', async () => {
		await fx.dataverse.generate('contact', 40, 5);
		// Campaign's gateway serves 3 requests at a time and answers the others 429 (retry after 1 s).
		await fx.campaign.setLatency(20);
		await fx.campaign.setFaults({ maxConcurrent: 3, retryAfter: 1 });
		try {
			const { wf, names } = setup({ concurrency: 12 });
			const [run] = await runUntilQuiet(wf, names.trigger);
			const summary = summaryOf(run, names.upsert);
			expect(summary).toMatchObject({ created: 40, failed: 0 });
			expect((await profiles()).size).toBe(40);
			const injected = (await fx.campaign.getFaults()).injected?.['429'] ?? 0;
			expect(injected).toBeGreaterThan(0);
			expect(summary.throttled).toBe(injected);
			// A throttled record waits in its slot, so the next sends slow down: fewer 429s than records.
			expect(injected).toBeLessThan(40);
		} finally {
			await fx.campaign.setFaults({});
		}
	}, 60_000);

	it("finds the concurrency Campaign's gateway allows, with far fewer throttled answers than a fixed Concurrency", async () => {
		await fx.dataverse.generate('contact', 60, 6);
		const throttledWith = async (adaptConcurrency: boolean) => {
			await fx.campaign.reset({ profiles: 0 });
			// Campaign's gateway serves 3 requests at a time, the others get 429 (retry after 1 s).
			await fx.campaign.setLatency(20);
			await fx.campaign.setFaults({ maxConcurrent: 3, retryAfter: 1 });
			const { json, names } = syncWorkflow({ concurrency: 12 });
			const wf = fx.workflow(json);
			wf.setParameters(names.upsert, { adaptConcurrency });
			const [run] = await runUntilQuiet(wf, names.trigger);
			const summary = summaryOf(run, names.upsert);
			expect(summary).toMatchObject({ created: 60, failed: 0 });
			return { throttled: Number(summary.throttled ?? 0), concurrency: summary.concurrency };
		};
		try {
			const fixed = await throttledWith(false);
			const adaptive = await throttledWith(true);
			expect(fixed.concurrency).toBe(12);
			expect(adaptive.concurrency).toBeLessThanOrEqual(3);
			expect(adaptive.throttled).toBeLessThan(fixed.throttled / 3);
		} finally {
			await fx.campaign.setFaults({});
		}
	}, 60_000);

	it('ends each run with a summary item: created, updated, deleted, unchanged, skipped, failed, backlog', async () => {
		const ids = await fx.dataverse.seed('contact', [
			{ firstname: 'A' },
			{ firstname: 'B' },
			{ firstname: 'C' },
			{ firstname: 'D' },
		]);
		const { wf, names } = setup({ fields: CONTACT_FIELDS, errorOutput: true });
		await runUntilQuiet(wf, names.trigger);
		await fx.dataverse.editRecord('contact', ids[0], { firstname: 'A2' });
		// An edit of an unmapped column: Campaign already holds every mapped value.
		await fx.dataverse.editRecord('contact', ids[1], { telephone1: '555' });
		await fx.dataverse.deleteRecord('contact', ids[2]);
		await fx.dataverse.seed('contact', [{ firstname: 'E' }]);
		const [run] = await runUntilQuiet(wf, names.trigger);
		const last = run.output(names.upsert).at(-1)!;
		expect(Object.keys(last)).toEqual(['_summary']);
		expect(summaryOf(run, names.upsert)).toMatchObject({
			created: 1,
			updated: 1,
			deleted: 1,
			unchanged: 1,
			skipped: 0,
			failed: 0,
			backlog: 0,
		});
	});

	it('counts the backlog left by a bounded run in the summary', async () => {
		await fx.dataverse.generate('contact', 12, 8);
		const { json, names } = syncWorkflow();
		json.nodes[0].parameters.options = { pageSize: 5, maxRecordsPerRun: 5 };
		const wf = fx.workflow(json);
		const run = (await wf.pollAndRun(names.trigger))!;
		expect(summaryOf(run, names.upsert)).toMatchObject({ created: 5, backlog: 7 });
	});

	describe('keys and uniqueness', () => {
		/** A Campaign resource keyed by a code, its filter not named after it (as custom ones may be). */
		async function defineMembers(unique: boolean) {
			await fx.campaign.defineResource({
				name: 'cusMember',
				label: 'Members',
				fields: [
					{ name: 'memberCode', type: 'string', length: 64, unique },
					{ name: 'name', type: 'string', length: 64 },
				],
				// The parameter name an administrator typed, which does not name the field.
				filters: [{ name: 'identification_key', field: 'memberCode', param: 'member_parameter' }],
			});
		}

		function memberChain(settings: ChainSettings) {
			return setup({
				campaignResource: 'cusMember',
				campaignKey: 'memberCode',
				fields: [{ dynamicsField: 'firstname', campaignField: 'name' }],
				errorOutput: true,
				...settings,
			});
		}

		it('looks every record up before creating it, so a key Campaign already holds is never duplicated', async () => {
			const ids = await fx.dataverse.seed('contact', [
				{ firstname: 'Known', lastname: 'One' },
				{ firstname: 'New', lastname: 'Two' },
			]);
			// Nothing makes a profile's externalId unique in Campaign: only a lookup prevents a copy.
			await fx.campaign.insert('profile', [{ externalId: ids[0], firstName: 'Old' }]);
			const { wf, names } = setup();
			await fx.campaign.resetCounters();
			const [run] = await runUntilQuiet(wf, names.trigger);
			expect(results(run, names.upsert).map((r) => [r.id, r.outcome])).toEqual([
				[ids[0], 'updated'],
				[ids[1], 'created'],
			]);
			const copies = (await fx.campaign.dump('profile')).records.filter(
				(p) => p.externalId === ids[0],
			);
			expect(copies).toHaveLength(1);
			expect(copies[0].firstName).toBe('Known');
			const counters = await fx.campaign.counters();
			// A lookup per record, beside the key filter's check (one list and one lookup).
			expect(counters['GET campaign:list']).toBe(2 + 2);
			expect(counters['POST campaign:create']).toBe(1);
		});

		it('finds records with the chosen filter, whatever its name and parameter', async () => {
			await defineMembers(false);
			const [id] = await fx.dataverse.seed('contact', [{ firstname: 'Ann' }]);
			const unnamed = memberChain({});
			const refused = (await unnamed.wf.pollAndRun(unnamed.names.trigger))!;
			expect(refused.error?.message).toMatch(
				/"cusMember.memberCode" has no filter named after it.*identification_key \(\?member_parameter\)/,
			);
			const { wf, names } = memberChain({ campaignKeyFilter: 'identification_key' });
			await runUntilQuiet(wf, names.trigger);
			await fx.dataverse.editRecord('contact', id, { firstname: 'Anne' });
			const [update] = await runUntilQuiet(wf, names.trigger);
			expect(results(update, names.upsert)).toMatchObject([{ id, outcome: 'updated' }]);
			expect((await fx.campaign.dump('cusMember')).records).toEqual([
				expect.objectContaining({ memberCode: id, name: 'Anne' }),
			]);
		});

		it('offers the one-parameter filters, the one named after the key preselected', async () => {
			const { wf, names } = setup();
			const options = await wf.loadOptions(names.mapping, 'getCampaignKeyFilters');
			expect(options.map((o) => o.value)).toEqual(['', 'byEmail', 'byExternalId']);
			expect(options[0].name).toBe('By Name: byExternalId');
		});

		it('creates without a lookup when Campaign refuses duplicate keys, and updates what it refuses', async () => {
			await defineMembers(true);
			const ids = await fx.dataverse.seed('contact', [
				{ firstname: 'Known' },
				{ firstname: 'New 1' },
				{ firstname: 'New 2' },
			]);
			await fx.campaign.insert('cusMember', [{ memberCode: ids[0], name: 'Old' }]);
			await fx.campaign.resetCounters();
			const { wf, names } = memberChain({
				campaignKeyFilter: 'identification_key',
				campaignKeyUnique: true,
			});
			const [run] = await runUntilQuiet(wf, names.trigger);
			expect(results(run, names.upsert).map((r) => [r.id, r.outcome])).toEqual([
				[ids[0], 'updated'],
				[ids[1], 'created'],
				[ids[2], 'created'],
			]);
			const counters = await fx.campaign.counters();
			// One create per record; one lookup for the refused one (plus the filter's check).
			expect(counters['POST campaign:create']).toBe(3);
			expect(counters['GET campaign:list']).toBe(2 + 1);
			expect((await fx.campaign.dump('cusMember')).count).toBe(3);
		});
	});

	describe('bad settings are reported before any write', () => {
		it('refuses a Campaign key that has no filter to find records by', async () => {
			await fx.dataverse.seed('contact', [{ firstname: 'X' }]);
			await fx.campaign.defineResource({
				name: 'cusNoFilter',
				fields: [
					{ name: 'crmId', type: 'string', unique: true },
					{ name: 'name', type: 'string' },
				],
			});
			await fx.campaign.resetCounters();
			const { wf, names } = setup({
				campaignResource: 'cusNoFilter',
				campaignKey: 'crmId',
				fields: [{ dynamicsField: 'firstname', campaignField: 'name' }],
			});
			const run = (await wf.pollAndRun(names.trigger))!;
			expect(run.status).toBe('error');
			expect(run.error?.message).toMatch(/cusNoFilter\.crmId" has no filter/);
			expect(run.error?.message).toMatch(/choose another Campaign primary key/);
			expect(campaignWrites(await fx.campaign.counters())).toBe(0);
		});

		it('refuses a key filter that does not find records by the key, before any write', async () => {
			const [id] = await fx.dataverse.seed('contact', [{ firstname: 'X' }]);
			await fx.campaign.insert('profile', [{ externalId: id, email: 'x@example.com' }]);
			await fx.campaign.resetCounters();
			const { wf, names } = setup({
				campaignKeyFilter: 'byEmail',
				fields: CONTACT_FIELDS.slice(0, 2),
			});
			const run = (await wf.pollAndRun(names.trigger))!;
			expect(run.status).toBe('error');
			expect(run.error?.message).toMatch(
				/filter "byEmail" does not find "profile" records by externalId/,
			);
			expect(campaignWrites(await fx.campaign.counters())).toBe(0);
			expect((await fx.campaign.dump('profile')).count).toBe(1);
		});

		it('refuses an unknown Dynamics column', async () => {
			await fx.dataverse.seed('contact', [{ firstname: 'X' }]);
			await fx.campaign.resetCounters();
			const { wf, names } = setup({
				fields: [{ dynamicsField: 'nosuchcolumn', campaignField: 'firstName' }],
			});
			const run = (await wf.pollAndRun(names.trigger))!;
			expect(run.status).toBe('error');
			expect(run.error?.message).toContain('"nosuchcolumn" is not a column of Dynamics table');
			expect(campaignWrites(await fx.campaign.counters())).toBe(0);
		});

		it('refuses a conversion that cannot work', async () => {
			await fx.dataverse.seed('contact', [{ firstname: 'X', birthdate: '1990-01-01' }]);
			await fx.campaign.defineResource({
				name: 'cusScore',
				fields: [
					{ name: 'crmId', type: 'string', unique: true },
					{ name: 'score', type: 'long' },
				],
				filters: [{ name: 'byCrmId', field: 'crmId' }],
			});
			await fx.campaign.resetCounters();
			const { wf, names } = setup({
				campaignResource: 'cusScore',
				campaignKey: 'crmId',
				fields: [{ dynamicsField: 'birthdate', campaignField: 'score' }],
			});
			const run = (await wf.pollAndRun(names.trigger))!;
			expect(run.status).toBe('error');
			expect(run.error?.message).toMatch(
				/"birthdate" \(DateTime\) cannot be converted to Campaign field "score" \(long\)/,
			);
			expect(campaignWrites(await fx.campaign.counters())).toBe(0);
		});
	});
});
