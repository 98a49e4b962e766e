import type { IDataObject } from 'n8n-workflow';

import type { SyncRecord } from '../../lib/sync/envelope';
import { RUN_KEY, type RunReport } from '../../lib/flows/run-report';
import type { TestWorkflow } from '../../sandbox/harness/engine';
import { node, useNodeFixture } from './fixture';

function split(items: IDataObject[] | null | undefined) {
	const records = (items ?? []).filter((i) => !(RUN_KEY in i)) as unknown as SyncRecord[];
	const runs = (items ?? [])
		.filter((i) => RUN_KEY in i)
		.map((i) => i[RUN_KEY] as unknown as RunReport);
	return { records, run: runs[0] };
}

async function pollItems(wf: TestWorkflow) {
	const output = await wf.poll('Trigger');
	return split(output?.[0]?.map((i) => i.json));
}

describe('Dynamics Trigger', () => {
	const fx = useNodeFixture({ dataverse: { demoRecords: 0 } }, {}, async (f) => {
		await f.dataverse.reset({ demoRecords: 0 });
	});

	function trigger(parameters: IDataObject = {}) {
		return fx.workflow({
			nodes: [node('dynamicsTrigger', 'Trigger', { table: 'contact', ...parameters })],
			connections: {},
		});
	}

	it('transfers every record on the first run, inactive ones too', async () => {
		await fx.dataverse.generate('contact', 30, 7);
		const dump = await fx.dataverse.dump('contact');
		const inactive = dump.records.filter((r) => r.statecode === 1).length;
		expect(inactive).toBeGreaterThan(0);
		const { records, run } = await pollItems(trigger());
		expect(records).toHaveLength(30);
		expect(new Set(records.map((r) => r._sync.id)).size).toBe(30);
		expect(records.filter((r) => r.statecode === 1)).toHaveLength(inactive);
		expect(records.every((r) => r._sync.load === 'initial' && r._sync.op === 'upsert')).toBe(true);
		expect(run).toMatchObject({ load: 'initial', emitted: 30, backlog: 0, loadFinished: true });
	});

	it('emits only changes on later runs, with deletes as op delete', async () => {
		const ids = await fx.dataverse.generate('contact', 10, 3);
		const wf = trigger();
		await pollItems(wf);
		expect(await wf.poll('Trigger')).toBeNull();
		await fx.dataverse.editRecord('contact', ids[2], { firstname: 'Zoë' });
		await fx.dataverse.deleteRecord('contact', ids[5]);
		const { records, run } = await pollItems(wf);
		expect(records.map((r) => [r._sync.id, r._sync.op])).toEqual([
			[ids[2], 'upsert'],
			[ids[5], 'delete'],
		]);
		expect(records[0].firstname).toBe('Zoë');
		expect(records.every((r) => r._sync.load === 'incremental')).toBe(true);
		expect(run).toMatchObject({ load: 'incremental', emitted: 2, deletes: 1 });
	});

	it('bounds each run by max records per run and never skips or repeats across runs', async () => {
		await fx.dataverse.generate('contact', 53, 11);
		const wf = trigger({ options: { pageSize: 10, maxRecordsPerRun: 20 } });
		const seen: string[] = [];
		const backlogs: number[] = [];
		for (let i = 0; i < 3; i++) {
			const { records, run } = await pollItems(wf);
			expect(records.length).toBeLessThanOrEqual(20);
			seen.push(...records.map((r) => r._sync.id));
			backlogs.push(run.backlog);
		}
		expect(seen).toHaveLength(53);
		expect(new Set(seen).size).toBe(53);
		expect(backlogs).toEqual([33, 13, 0]);
		expect(await wf.poll('Trigger')).toBeNull();
	});

	it('reports the backlog in every record and in the run summary item', async () => {
		await fx.dataverse.generate('contact', 25, 5);
		const { records, run } = await pollItems(
			trigger({ options: { pageSize: 10, maxRecordsPerRun: 10 } }),
		);
		expect(records.map((r) => r._sync.backlog)).toEqual([24, 23, 22, 21, 20, 19, 18, 17, 16, 15]);
		expect(run).toMatchObject({ backlog: 15, backlogExact: true, loadFinished: false });
	});

	it('re-reads everything, marked as replay, when the delta token expired, losing nothing', async () => {
		const ids = await fx.dataverse.generate('contact', 8, 9);
		const wf = trigger();
		await pollItems(wf);
		await fx.dataverse.editRecord('contact', ids[0], { lastname: "O'Brien" });
		await fx.dataverse.expireChangeTracking('contact');
		const { records, run } = await pollItems(wf);
		expect(records).toHaveLength(8);
		expect(records.every((r) => r._sync.load === 'replay')).toBe(true);
		expect(records.find((r) => r._sync.id === ids[0])?.lastname).toBe("O'Brien");
		expect(run.notice).toMatch(/expired/);
		expect(await wf.poll('Trigger')).toBeNull();
	});

	it('polls by modified date where the table has no change tracking, never skipping equal timestamps', async () => {
		const stamp = '2026-01-01T10:00:00Z';
		await fx.dataverse.seed(
			'new_region',
			Array.from({ length: 7 }, (_, i) => ({ new_name: `Region ${i}`, modifiedon: stamp })),
		);
		const wf = fx.workflow({
			nodes: [
				node('dynamicsTrigger', 'Trigger', {
					table: 'new_region',
					options: { pageSize: 3, maxRecordsPerRun: 3 },
				}),
			],
			connections: {},
		});
		const total = (await fx.dataverse.dump('new_region')).records.length;
		const seen: string[] = [];
		for (let i = 0; i < Math.ceil(total / 3); i++) {
			seen.push(...(await pollItems(wf)).records.map((r) => r._sync.id));
		}
		expect(new Set(seen).size).toBe(total);
		expect(seen).toHaveLength(total);
		expect(await wf.poll('Trigger')).toBeNull();
	});

	it('refuses to change the table once it has run', async () => {
		await fx.dataverse.generate('contact', 2, 1);
		const wf = trigger();
		await pollItems(wf);
		wf.setParameters('Trigger', { table: 'account' });
		await expect(wf.poll('Trigger')).rejects.toThrow(/cannot be changed/);
	});

	describe.each([['changeTracking'], ['modifiedOn']])(
		'Backlog of incremental changes (%s)',
		(mode) => {
			async function loaded() {
				const wf = trigger({
					changeDetection: mode,
					options: { pageSize: 50, maxRecordsPerRun: 50 },
				});
				await pollItems(wf);
				return wf;
			}

			it('counts what a run cut short by its bound leaves for the next runs', async () => {
				const wf = await loaded();
				await fx.dataverse.generate('contact', 120, 8);
				const { records, run } = await pollItems(wf);
				expect(records).toHaveLength(50);
				expect(run).toMatchObject({ load: 'incremental', backlog: 70 });
				expect(run.backlogAtLeast).toBeUndefined();
				expect(records[0]._sync.backlog).toBe(119);
				expect((await pollItems(wf)).run.backlog).toBe(20);
				expect((await pollItems(wf)).run).toMatchObject({ backlog: 0, backlogExact: true });
			});

			it('shows 5,000+ where Dataverse stops counting', async () => {
				const wf = await loaded();
				await fx.dataverse.generate('contact', 5_100, 8);
				const { run } = await pollItems(wf);
				expect(run).toMatchObject({ backlog: 5000, backlogAtLeast: true, backlogExact: false });
			});
		},
	);

	it('refuses a replay while the Backlog of the whole workflow is 2,000,000 or more', async () => {
		await fx.dataverse.generate('contact', 3, 2);
		await fx.dataverse.generate('account', 10, 2);
		await fx.dataverse.setReportedCount('account', 2_000_004);
		const wf = fx.workflow({
			nodes: [
				node('dynamicsTrigger', 'Contacts', { table: 'contact' }),
				node('dynamicsTrigger', 'Accounts', {
					table: 'account',
					options: { pageSize: 2, maxRecordsPerRun: 2 },
				}),
			],
			connections: {},
		});
		await wf.poll('Contacts');
		const accounts = split((await wf.poll('Accounts'))?.[0]?.map((i) => i.json)).run;
		expect(accounts).toMatchObject({ load: 'initial', backlog: 2_000_002 });
		wf.setParameters('Contacts', { replayData: 'while accounts load' });
		await wf.poll('Contacts');
		expect(wf.triggerErrors.map((e) => e.message)).toEqual([
			expect.stringMatching(/Backlog metric of this workflow is 2,000,002 items/),
		]);
	});

	it('fetches a test event in the editor: a sample of the table, the cursor untouched', async () => {
		await fx.dataverse.generate('contact', 8, 6);
		const wf = trigger();
		const sample = split((await wf.poll('Trigger', 'manual', 'manual'))?.[0]?.map((i) => i.json));
		expect(sample.records).toHaveLength(5);
		expect(sample.records.every((r) => r._sync.load === 'initial')).toBe(true);
		expect(sample.run).toBeUndefined();
		expect(wf.staticData('Trigger')).toEqual({});
		expect((await pollItems(wf)).records).toHaveLength(8);
	});

	describe('Saved state (#18: one rule for versions)', () => {
		it('refuses a state of a version this package no longer reads, instead of reading it as it stands', async () => {
			await fx.dataverse.generate('contact', 3, 6);
			const wf = trigger();
			await pollItems(wf);
			const state = wf.staticData('Trigger').syncState as IDataObject;
			state.version = 0;
			await expect(wf.poll('Trigger')).rejects.toThrow(
				/saved state has version 0, which this version of the package no longer reads/,
			);
		});

		it("counts the workflow's Backlog stored by earlier versions, and stores it apart from its version", async () => {
			await fx.dataverse.generate('contact', 3, 6);
			const wf = trigger();
			await pollItems(wf);
			const global = wf.workflow.getStaticData('global');
			global.syncBacklogs = { Accounts: { backlog: 2_000_001, at: new Date().toISOString() } };
			wf.setParameters('Trigger', { replayData: 'while accounts load' });
			await wf.poll('Trigger');
			expect(wf.triggerErrors.map((e) => e.message)).toEqual([
				expect.stringMatching(/Backlog metric of this workflow is 2,000,001 items/),
			]);
			expect(global.syncBacklogs).toMatchObject({
				version: 2,
				triggers: { Accounts: { backlog: 2_000_001 }, Trigger: { backlog: 0 } },
			});
		});
	});

	describe('Replay Data', () => {
		it('re-synchronizes every record once per new request', async () => {
			await fx.dataverse.generate('contact', 12, 4);
			const wf = trigger();
			await pollItems(wf);
			wf.setParameters('Trigger', { replayData: 'fix gender mapping' });
			const { records, run } = await pollItems(wf);
			expect(records).toHaveLength(12);
			expect(records.every((r) => r._sync.load === 'replay')).toBe(true);
			expect(run).toMatchObject({ load: 'replay', loadFinished: true });
			// The same request is not honoured twice.
			expect(await wf.poll('Trigger')).toBeNull();
		});

		it('still passes on the deletes made since the last run (a full read never returns them)', async () => {
			const ids = await fx.dataverse.generate('contact', 6, 4);
			const wf = trigger({ options: { pageSize: 2, maxRecordsPerRun: 4 } });
			while (await wf.poll('Trigger'));
			await fx.dataverse.deleteRecord('contact', ids[3]);
			wf.setParameters('Trigger', { replayData: 'after a delete' });
			const seen: SyncRecord[] = [];
			for (let i = 0; i < 5; i++) {
				const { records } = await pollItems(wf);
				seen.push(...records);
				if (!records.length) break;
			}
			expect(seen.filter((r) => r._sync.op === 'delete').map((r) => r._sync.id)).toEqual([ids[3]]);
			expect(seen.filter((r) => r._sync.op === 'upsert')).toHaveLength(5);
		});

		it('is refused with the count when the table holds 2,000,000 records or more', async () => {
			const ids = await fx.dataverse.generate('contact', 3, 4);
			const wf = trigger();
			await pollItems(wf);
			await fx.dataverse.setReportedCount('contact', 2_000_000);
			wf.setParameters('Trigger', { replayData: 'again' });
			// A failed execution carries the refusal, once; the regular sync goes on in the same poll.
			await fx.dataverse.editRecord('contact', ids[0], { firstname: 'Still synced' });
			const { records, run } = await pollItems(wf);
			expect(wf.triggerErrors.map((e) => e.message)).toEqual([
				expect.stringMatching(/Replay Data refused: .* has 2,000,000 records/),
			]);
			expect(records.map((r) => [r._sync.id, r._sync.load])).toEqual([[ids[0], 'incremental']]);
			expect(run.notice).toMatch(/Replay Data refused/);
			expect(await wf.poll('Trigger')).toBeNull();
			expect(wf.triggerErrors).toHaveLength(1);
		});
	});

	describe('Dataverse as Microsoft documents it (#15)', () => {
		afterEach(async () => await fx.dataverse.setBehavior({}));

		it('offers lookup, customer and owner columns by logical name, and no column Dataverse cannot read', async () => {
			const columns = (await trigger().loadOptions('Trigger', 'getColumns')).map((o) => o.value);
			expect(columns).toEqual(expect.arrayContaining(['parentcustomerid', 'ownerid', 'lastname']));
			for (const helper of [
				'parentcustomeridname',
				'parentcustomeridyominame',
				'parentcustomeridtype',
				'owneridname',
				'owneridtype',
			]) {
				expect(columns).not.toContain(helper);
			}
		});

		it('reads the chosen lookups as _x_value with their table and display name', async () => {
			const [accountId] = await fx.dataverse.seed('account', [{ name: 'Contoso Ltd' }]);
			const [teamId] = await fx.dataverse.seed('team', [{ name: 'Sales Team' }]);
			const [id] = await fx.dataverse.seed('contact', [
				{
					lastname: 'Lookup',
					parentcustomerid: { id: accountId, table: 'account' },
					ownerid: { id: teamId, table: 'team' },
				},
			]);
			const { records } = await pollItems(
				trigger({ columns: ['lastname', 'parentcustomerid', 'ownerid'] }),
			);
			expect(records).toHaveLength(1);
			expect(records[0]).toMatchObject({
				contactid: id,
				lastname: 'Lookup',
				_parentcustomerid_value: accountId,
				_ownerid_value: teamId,
			});
			expect(records[0]._sync).toMatchObject({
				labels: { _parentcustomerid_value: 'Contoso Ltd', _ownerid_value: 'Sales Team' },
				lookupTables: { parentcustomerid: 'account', ownerid: 'team' },
			});
		});

		it('keeps its delta link when Dataverse leaves it out, so each change comes once', async () => {
			await fx.dataverse.setBehavior({
				deltaLinkMissingWithAnnotations: true,
				emptyBodyWithoutChanges: true,
			});
			const ids = await fx.dataverse.generate('contact', 6, 2);
			const wf = trigger({ options: { pageSize: 4 } });
			expect((await pollItems(wf)).records).toHaveLength(6);
			expect(await wf.poll('Trigger')).toBeNull();
			await fx.dataverse.editRecord('contact', ids[3], { firstname: 'Once' });
			const { records } = await pollItems(wf);
			expect(records.map((r) => [r._sync.id, r.firstname])).toEqual([[ids[3], 'Once']]);
			expect(await wf.poll('Trigger')).toBeNull();
		});

		it('goes straight to a full re-read when the token expired, whatever the status, without retrying', async () => {
			const ids = await fx.dataverse.generate('contact', 5, 3);
			const wf = trigger();
			await pollItems(wf);
			await fx.dataverse.expireChangeTracking('contact');
			await fx.dataverse.setBehavior({ expiredTokenStatus: 503 });
			await fx.dataverse.resetCounters();
			const { records, run } = await pollItems(wf);
			expect(records.map((r) => r._sync.id).sort()).toEqual([...ids].sort());
			expect(records.every((r) => r._sync.load === 'replay')).toBe(true);
			expect(run.notice).toMatch(/expired/);
			// The expired delta link once, then the full read: one page.
			expect((await fx.dataverse.counters())['GET contacts']).toBe(2);
		});

		it('works with the Web API endpoint pasted as the environment URL', async () => {
			const stored = fx.credentials.getStored('dynamics365Api')!;
			const url = fx.sandboxes.dataverse.url;
			fx.credentials.setCredentials('dynamics365Api', {
				...stored,
				accessToken: '',
				environmentUrl: ` ${url.toUpperCase()}/api/data/v9.2/ `,
			});
			try {
				await fx.dataverse.generate('contact', 3, 4);
				expect((await pollItems(trigger())).records).toHaveLength(3);
				expect(fx.credentials.getStored('dynamics365Api')?.environmentUrl).toBe(url);
			} finally {
				fx.credentials.setCredentials('dynamics365Api', stored);
			}
		});

		describe('Modified Date polling', () => {
			// SQL Server orders these by their last group (dotnet/docs
			// comparing-guid-and-uniqueidentifier-values.md), not as text.
			const ids = [
				'3aaaaaaa-bbbb-cccc-dddd-2eeeeeeeeeee',
				'2aaaaaaa-bbbb-cccc-dddd-1eeeeeeeeeee',
				'1aaaaaaa-bbbb-cccc-dddd-3eeeeeeeeeee',
				'4aaaaaaa-bbbb-cccc-dddd-0eeeeeeeeeee',
				'0aaaaaaa-bbbb-cccc-dddd-4eeeeeeeeeee',
			];

			it.each([
				['whole seconds', 'seconds', () => '2026-01-01T10:00:00Z'],
				[
					'milliseconds Dataverse does not show',
					'hiddenMilliseconds',
					(i: number) => `2026-01-01T10:00:00.${String(100 + i * 150)}Z`,
				],
				[
					'milliseconds',
					'milliseconds',
					(i: number) => `2026-01-01T10:00:00.${String(100 + i * 150)}Z`,
				],
			] as const)(
				'emits each row once, never skipping or repeating, with %s',
				async (_name, dateTimePrecision, stamp) => {
					await fx.dataverse.setBehavior({ dateTimePrecision });
					await fx.dataverse.seed(
						'new_region',
						ids.map((id, i) => ({ new_regionid: id, new_name: `R${i}`, modifiedon: stamp(i) })),
					);
					const wf = fx.workflow({
						nodes: [
							node('dynamicsTrigger', 'Trigger', {
								table: 'new_region',
								options: { pageSize: 2, maxRecordsPerRun: 2 },
							}),
						],
						connections: {},
					});
					const all = (await fx.dataverse.dump('new_region')).records.map((r) => r.new_regionid);
					expect(all).toEqual(expect.arrayContaining(ids));
					const seen: string[] = [];
					for (let i = 0; i < all.length; i++) {
						const output = await wf.poll('Trigger');
						if (!output) break;
						seen.push(...split(output[0].map((item) => item.json)).records.map((r) => r._sync.id));
					}
					expect(seen.sort()).toEqual([...all].sort());
					expect(await wf.poll('Trigger')).toBeNull();
					await fx.dataverse.editRecord('new_region', ids[2], { new_name: 'Edited' });
					const { records } = await pollItems(wf);
					expect(records.map((r) => r.new_name)).toEqual(['Edited']);
					expect(await wf.poll('Trigger')).toBeNull();
				},
			);
		});
	});
});
