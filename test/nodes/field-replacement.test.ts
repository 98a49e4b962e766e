import type { INodeParameters } from 'n8n-workflow';

import { useNodeFixture } from './fixture';
import { campaignWrites, runUntilQuiet, syncWorkflow } from './sync-chain';

/** The Existing Value of row 0, as the editor asks for it. */
const EXISTING_VALUE_PATH = 'parameters.replacements.replacement[0].existingValue';

function replacement(field: string, existing: string, newValue: string, mode = 'list') {
	return { field, existingValue: { __rl: true, mode, value: existing }, newValue };
}

describe('Field Replacement', () => {
	const fx = useNodeFixture();

	describe('the Existing Value list', () => {
		async function listFor(field: string, filter?: string) {
			const { json, names } = syncWorkflow();
			const wf = fx.workflow(json);
			const parameters = { replacements: { replacement: [{ field }] } } as INodeParameters;
			return await wf.listSearch(
				names.replace,
				'searchColumnValues',
				filter,
				EXISTING_VALUE_PATH,
				parameters,
			);
		}

		it('offers the options of a picklist column, alphabetically', async () => {
			expect((await listFor('gendercode')).results).toEqual([
				{ name: 'Female (2)', value: '2' },
				{ name: 'Male (1)', value: '1' },
			]);
		});

		it('offers the values of state, status and boolean columns', async () => {
			const state = (await listFor('statecode')).results.map((r) => r.name);
			expect(state).toEqual(expect.arrayContaining(['Active (0)', 'Inactive (1)']));
			expect((await listFor('statuscode')).results.length).toBeGreaterThan(1);
			expect((await listFor('donotemail')).results).toEqual([
				{ name: 'Allow (false)', value: 'false' },
				{ name: 'Do Not Allow (true)', value: 'true' },
			]);
		});

		it('narrows the list by what is typed', async () => {
			expect((await listFor('gendercode', 'fem')).results).toEqual([
				{ name: 'Female (2)', value: '2' },
			]);
		});

		it('offers nothing for a text column, whose value is typed', async () => {
			expect((await listFor('firstname')).results).toEqual([]);
		});
	});

	it('writes the new value to Campaign instead of the existing one', async () => {
		const ids = await fx.dataverse.seed('contact', [
			{ firstname: 'Bob', gendercode: 1 },
			{ firstname: 'Ann', gendercode: 2 },
			{ firstname: 'Cy', gendercode: null },
		]);
		const { json, names } = syncWorkflow({
			replacements: [
				replacement('gendercode', '1', 'male'),
				replacement('gendercode', '2', 'female'),
				replacement('firstname', 'Bob', 'Robert', 'value'),
			],
			fields: [
				{ dynamicsField: 'firstname', campaignField: 'firstName' },
				{ dynamicsField: 'gendercode', campaignField: 'gender' },
			],
		});
		const wf = fx.workflow(json);
		const [run] = await runUntilQuiet(wf, names.trigger);
		expect(run.output(names.replace).at(-1)).toMatchObject({ _syncRun: { replaced: 2 } });
		const profiles = new Map(
			(await fx.campaign.dump('profile')).records.map((p) => [p.externalId, p]),
		);
		expect(profiles.get(ids[0])).toMatchObject({ firstName: 'Robert', gender: 'male' });
		expect(profiles.get(ids[1])).toMatchObject({ firstName: 'Ann', gender: 'female' });
		expect(profiles.get(ids[2])).toMatchObject({ firstName: 'Cy', gender: null });
	});

	it('matches a picklist by its label too, as typed in the text box', async () => {
		const [id] = await fx.dataverse.seed('contact', [{ firstname: 'Ann', familystatuscode: 2 }]);
		const { json, names } = syncWorkflow({
			replacements: [replacement('familystatuscode', 'Married', 'M', 'value')],
			fields: [{ dynamicsField: 'familystatuscode', campaignField: 'lastName' }],
		});
		const wf = fx.workflow(json);
		await runUntilQuiet(wf, names.trigger);
		const [profile] = (await fx.campaign.dump('profile')).records;
		expect(profile).toMatchObject({ externalId: id, lastName: 'M' });
	});

	it('refuses a replacement of a column the table does not have, before any write', async () => {
		await fx.dataverse.seed('contact', [{ firstname: 'Bob' }]);
		await fx.campaign.resetCounters();
		const { json, names } = syncWorkflow({
			replacements: [replacement('nosuchcolumn', 'a', 'b', 'value')],
		});
		const run = (await fx.workflow(json).pollAndRun(names.trigger))!;
		expect(run.status).toBe('error');
		expect(run.nodes[names.replace].error?.message).toContain('nosuchcolumn');
		expect(campaignWrites(await fx.campaign.counters())).toBe(0);
	});
});
