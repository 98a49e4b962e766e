/**
 * Metadata kept across runs: a quiet poll costs one Dataverse request, a busy run reads no
 * metadata an earlier run of the same process read, and whatever shows the cache stale (a
 * settings problem, a name it lacks, a label it does not list) makes the nodes read it again.
 */
import type { IDataObject, INodeParameters } from 'n8n-workflow';

import type { TableDefinition } from '../../sandbox/dataverse/schema';
import { useNodeFixture } from './fixture';
import { CONTACT_FIELDS, results, runUntilQuiet, syncWorkflow } from './sync-chain';

/** Requests a service answered, token requests left out. */
function sum(counters: Record<string, number>, match = /.*/): number {
	return Object.entries(counters)
		.filter(([route]) => !/token/.test(route) && match.test(route))
		.reduce((total, [, n]) => total + n, 0);
}

const DATAVERSE_METADATA = /EntityDefinitions/;
const CAMPAIGN_METADATA = /metadata|filters/;

describe('Metadata kept across runs', () => {
	const fx = useNodeFixture();

	async function resetCounters() {
		await fx.dataverse.resetCounters();
		await fx.campaign.resetCounters();
	}

	async function contactTable(): Promise<TableDefinition> {
		const { tables } = await fx.dataverse.tables();
		return tables.find((t) => t.logicalName === 'contact')!;
	}

	describe.each([['changeTracking'], ['modifiedOn']])('with %s', (changeDetection) => {
		it('spends one Dynamics 365 request per quiet poll and nothing in Campaign', async () => {
			await fx.dataverse.generate('contact', 8, 3);
			const { json, names } = syncWorkflow();
			json.nodes[0].parameters.changeDetection = changeDetection;
			const wf = fx.workflow(json);
			await runUntilQuiet(wf, names.trigger);
			await resetCounters();
			for (let i = 0; i < 3; i++) expect(await wf.poll(names.trigger)).toBeNull();
			expect(sum(await fx.dataverse.counters())).toBe(3);
			expect(sum(await fx.campaign.counters())).toBe(0);
		});
	});

	it('reads no metadata in a busy run when earlier runs of the process read it', async () => {
		await fx.dataverse.generate('contact', 6, 4);
		const active = (await fx.dataverse.dump('contact')).records.filter((c) => c.statecode === 0);
		const ids = active.map((c) => String(c.contactid));
		const { json, names } = syncWorkflow({
			filter: { rules: { rule: [{ field: 'statecode', comparison: 'equals', value: '0' }] } },
			replacements: [{ field: 'gendercode', existingValue: '1', newValue: 'male' }],
		});
		// A profile to check the key filter on, which the first run does once.
		await fx.campaign.insert('profile', [{ externalId: 'elsewhere', email: 'e@example.com' }]);
		const wf = fx.workflow(json);
		await runUntilQuiet(wf, names.trigger);
		await fx.dataverse.editRecord('contact', ids[0], { firstname: 'Changed' });
		await fx.dataverse.editRecord('contact', ids[1], { firstname: 'Changed too' });
		await resetCounters();
		const runs = await runUntilQuiet(wf, names.trigger);
		expect(runs.flatMap((r) => results(r, names.upsert)).map((r) => r.outcome)).toEqual([
			'updated',
			'updated',
		]);
		expect(sum(await fx.dataverse.counters(), DATAVERSE_METADATA)).toBe(0);
		const campaign = await fx.campaign.counters();
		expect(sum(campaign, CAMPAIGN_METADATA)).toBe(0);
		// A lookup and a write per changed record; the key filter's check is not made again.
		expect(sum(campaign)).toBe(4);
	});

	it('checks a rule naming a column added in Dynamics 365 since the metadata was read', async () => {
		const ids = await fx.dataverse.generate('contact', 4, 5);
		const { json, names } = syncWorkflow();
		const wf = fx.workflow(json);
		await runUntilQuiet(wf, names.trigger);
		const contact = await contactTable();
		await fx.dataverse.defineTables([
			{ ...contact, columns: [...contact.columns, { logicalName: 'new_tier', type: 'String' }] },
		]);
		await fx.dataverse.editRecord('contact', ids[0], { new_tier: 'gold', firstname: 'Gold' });
		await fx.dataverse.editRecord('contact', ids[1], { new_tier: 'tin', firstname: 'Tin' });
		wf.setParameters(names.filter, {
			rules: { rule: [{ field: 'new_tier', comparison: 'equals', value: 'gold' }] },
		} as INodeParameters);
		const runs = await runUntilQuiet(wf, names.trigger);
		expect(runs.flatMap((r) => results(r, names.upsert)).map((r) => r.id)).toEqual([ids[0]]);
	});

	it('reads a column added in Dynamics 365 since the metadata was read when a later node maps it', async () => {
		const ids = await fx.dataverse.generate('contact', 4, 6);
		const { json, names } = syncWorkflow({ columns: ['firstname', 'lastname', 'emailaddress1'] });
		const wf = fx.workflow(json);
		await runUntilQuiet(wf, names.trigger);
		const contact = await contactTable();
		await fx.dataverse.defineTables([
			{ ...contact, columns: [...contact.columns, { logicalName: 'new_title', type: 'String' }] },
		]);
		for (const id of ids) await fx.dataverse.editRecord('contact', id, { new_title: `T-${id}` });
		const [profile] = (await fx.campaign.resources()).filter((r) => r.name === 'profile');
		await fx.campaign.defineResource({
			...profile,
			fields: [...profile.fields, { name: 'salutation', type: 'string' }],
		});
		wf.setParameters(names.mapping, {
			fieldMappings: {
				mapping: [
					...CONTACT_FIELDS,
					{ dynamicsField: 'new_title', campaignField: 'salutation' },
				].map((f) => ({ applyUpdates: true, ...f })),
			},
		} as unknown as INodeParameters);
		const runs = await runUntilQuiet(wf, names.trigger);
		expect(
			runs.flatMap((r) => results(r, names.upsert)).filter((r) => r.outcome === 'failed'),
		).toEqual([]);
		const written = (await fx.campaign.dump('profile')).records as IDataObject[];
		for (const id of ids) {
			expect(written.find((p) => p.externalId === id)?.salutation).toBe(`T-${id}`);
		}
	});

	it('gives a replaced value the label Dynamics 365 shows now when a record shows its choices changed', async () => {
		const ids = await fx.dataverse.generate('contact', 2, 7);
		const { json, names } = syncWorkflow({
			replacements: [{ field: 'gendercode', existingValue: '1', newValue: '2' }],
		});
		const wf = fx.workflow(json);
		await runUntilQuiet(wf, names.trigger);
		const contact = await contactTable();
		await fx.dataverse.defineTables([
			{
				...contact,
				columns: contact.columns.map((c) =>
					c.logicalName === 'gendercode'
						? {
								...c,
								options: [
									{ value: 1, label: 'Male' },
									{ value: 2, label: 'Woman' },
								],
							}
						: c,
				),
			},
		]);
		await fx.dataverse.editRecord('contact', ids[0], { gendercode: 1 });
		await fx.dataverse.editRecord('contact', ids[1], { gendercode: 2 });
		const [run] = await runUntilQuiet(wf, names.trigger);
		const replaced = run
			.output(names.replace)
			.find((r) => (r._sync as IDataObject | undefined)?.id === ids[0]);
		expect(((replaced?._sync as IDataObject).labels as IDataObject).gendercode).toBe('Woman');
	});

	it('lists in the editor a column added in Dynamics 365 after a run read the metadata', async () => {
		await fx.dataverse.generate('contact', 2, 8);
		const { json, names } = syncWorkflow();
		const wf = fx.workflow(json);
		await runUntilQuiet(wf, names.trigger);
		const contact = await contactTable();
		await fx.dataverse.defineTables([
			{ ...contact, columns: [...contact.columns, { logicalName: 'new_code', type: 'String' }] },
		]);
		const options = await wf.loadOptions(names.filter, 'getColumns');
		expect(options.map((o) => o.value)).toContain('new_code');
	});
});
