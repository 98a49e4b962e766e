import { RUN_KEY, type RunReport } from '../../lib/flows/run-report';
import { useNodeFixture } from './fixture';
import { results, runUntilQuiet, syncWorkflow } from './sync-chain';

describe('Deletes Detection: comparing keys where the table is polled by modified date', () => {
	const fx = useNodeFixture({}, {}, async (f) => {
		await f.dataverse.reset({ demoRecords: 0 });
		await f.campaign.reset({ profiles: 0 });
		await f.dataverse.setFaults({});
	});

	async function syncedChain(deletesDetection: string) {
		const ids = await fx.dataverse.generate('contact', 6, 3);
		const { json, names } = syncWorkflow();
		Object.assign(json.nodes[0].parameters, {
			changeDetection: 'modifiedOn',
			deletesDetection,
			compareEveryHours: 1,
		});
		json.nodes[0].credentials = {
			...json.nodes[0].credentials,
			adobeCampaignStandardApi: { id: '2', name: 'Campaign (sandbox)' },
		};
		const wf = fx.workflow(json);
		await runUntilQuiet(wf, names.trigger);
		// Profiles Campaign got elsewhere: a key that is no Dynamics id, and none at all.
		await fx.campaign.insert('profile', [
			{ externalId: 'legacy-crm-42', firstName: 'Legacy' },
			{ firstName: 'No key' },
		]);
		return { ids, wf, names };
	}

	/** Moves the last comparison back two hours, so the next poll starts a new one. */
	function makeComparisonDue(wf: ReturnType<typeof fx.workflow>, trigger: string) {
		const state = wf.staticData(trigger).syncState as { keyComparison?: { finishedAt?: string } };
		expect(state.keyComparison?.finishedAt).toBeDefined();
		state.keyComparison!.finishedAt = new Date(Date.now() - 2 * 3_600_000).toISOString();
	}

	async function profileNames() {
		return (await fx.campaign.dump('profile')).records.map((p) => String(p.firstName)).sort();
	}

	it('deletes in Campaign the records deleted in Dynamics, and nothing else', async () => {
		const { ids, wf, names } = await syncedChain('compareKeys');
		const before = await profileNames();
		const gone = (await fx.dataverse.dump('contact')).records.filter((c) =>
			[ids[1], ids[4]].includes(String(c.contactid)),
		);
		await fx.dataverse.deleteRecord('contact', ids[1]);
		await fx.dataverse.deleteRecord('contact', ids[4]);
		// Not due yet: the comparison ran after the initial load.
		expect(await wf.poll(names.trigger)).toBeNull();
		makeComparisonDue(wf, names.trigger);
		const [run] = await runUntilQuiet(wf, names.trigger);
		const report = run.output(names.trigger).at(-1)?.[RUN_KEY] as RunReport;
		expect(report).toMatchObject({
			deletesDetection: 'keyComparison',
			keyComparison: { checked: 8, missing: 2, finished: true },
		});
		expect(
			results(run, names.upsert)
				.map((r) => [r.id, r.outcome])
				.sort(),
		).toEqual(
			[
				[ids[1], 'deleted'],
				[ids[4], 'deleted'],
			].sort(),
		);
		const expected = before.filter((n) => !gone.some((c) => c.firstname === n));
		expect(await profileNames()).toEqual(expected);
		expect(expected).toEqual(expect.arrayContaining(['Legacy', 'No key']));
	});

	it('deletes nothing when Dynamics does not answer', async () => {
		const { ids, wf, names } = await syncedChain('compareKeys');
		await fx.dataverse.deleteRecord('contact', ids[2]);
		makeComparisonDue(wf, names.trigger);
		const before = await profileNames();
		// The regular read goes through; every question the comparison asks fails.
		await fx.dataverse.setFaults({
			script: [
				{ kind: '500', route: 'contacts', after: 1 },
				...Array.from({ length: 9 }, () => ({ kind: '500' as const, route: 'contacts' })),
			],
		});
		await expect(wf.poll(names.trigger)).rejects.toThrow(/500/);
		expect((await fx.dataverse.getFaults()).injected?.['500']).toBeGreaterThan(0);
		await fx.dataverse.setFaults({});
		expect(await profileNames()).toEqual(before);
	});

	it('says in the run report that deletes are not seen when it is off', async () => {
		const { ids, wf, names } = await syncedChain('none');
		await fx.dataverse.deleteRecord('contact', ids[0]);
		await fx.dataverse.editRecord('contact', ids[3], { firstname: 'Changed' });
		const [run] = await runUntilQuiet(wf, names.trigger);
		const report = run.output(names.trigger).at(-1)?.[RUN_KEY] as RunReport;
		expect(report.deletesDetection).toBe('none');
		expect(results(run, names.upsert).map((r) => r.outcome)).toEqual(['updated']);
	});
});
